"""The console's forms act with the signed-in person's session: a form posted
from another origin (a page on another port or subdomain of the same site,
which a SameSite cookie does not keep out) must not act with it."""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SAFE = ("GET", "HEAD", "OPTIONS")
REFUSED = "a form sent from another site or port is refused: open the console itself"


def same_origin(request: Request) -> None:
    """Refuses (403) a state-changing request a browser says came from elsewhere:
    by its Origin (the host and port must be the ones asked), or, without one,
    by Sec-Fetch-Site. A client that sends neither (curl, a script) is no
    browser carrying someone's cookie."""
    if request.method in SAFE:
        return
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null" or urlsplit(origin).netloc != request.headers.get("host", ""):
            raise HTTPException(403, REFUSED)
        return
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(403, REFUSED)


class PageHeaders:
    """The console's pages show personal data: never kept by a cache, never
    shown inside another site's frame (the public pages may be framed by a
    bureau's own site, but not cached either when they answer a form)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(("/console", "/public")) or path.startswith("/console/static"):
            return await self.app(scope, receive, send)
        console = path.startswith("/console")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"no-store"))
                if console:
                    headers += [(b"x-frame-options", b"DENY"),
                                (b"content-security-policy", b"frame-ancestors 'none'")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
