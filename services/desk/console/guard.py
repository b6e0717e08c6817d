"""The console's forms act with the signed-in person's session: a form posted
from another origin (a page on another port or subdomain of the same site,
which a SameSite cookie does not keep out) must not act with it."""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SAFE = ("GET", "HEAD", "OPTIONS")


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
            raise HTTPException(403, "a form sent from another site or port is refused: open the console itself")
        return
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(403, "a form sent from another site or port is refused: open the console itself")
