"""The console's way to the API: the same routes, the same checks and the
same problem+json refusals, called in-process (or, with
TOUSU_CONSOLE_API_URL, through the deployment's proxy)."""
from __future__ import annotations

import os

import httpx
from fastapi import Request


async def call(request: Request, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = os.environ.get("TOUSU_CONSOLE_API_URL")
    transport = None if base else httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=base or "http://tousu.internal", timeout=30) as client:
        return await client.request(method, path, headers=headers, **kwargs)


def problem(response: httpx.Response) -> dict | None:
    """The refusal in a response, or None when it succeeded."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    errors = {e.get("field"): e.get("message") for e in body.get("errors") or [] if e.get("field")}
    if body.get("field") and body["field"] not in errors:
        errors[body["field"]] = body.get("detail")
    return {"status": response.status_code, "detail": body.get("detail") or body.get("title"), "fields": errors}
