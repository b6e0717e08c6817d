"""The console's way to the API: the same routes, the same checks and the
same problem+json refusals, called in-process (or, with
TOUSU_CONSOLE_API_URL, through the deployment's proxy)."""
from __future__ import annotations

import asyncio
import os
import weakref
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from fastapi import Request

from ..vocabulary import zh
from . import refusals

# One client to the proxy per event loop: a client sets up TLS when made,
# some 20 ms of CPU, which a page's every call to the API would pay again.
_proxy_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def call(request: Request, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = os.environ.get("TOUSU_CONSOLE_API_URL")
    if not base:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app), base_url="http://tousu.internal",
                                     timeout=30) as client:
            return await client.request(method, path, headers=headers, **kwargs)
    clients = _proxy_clients.setdefault(asyncio.get_running_loop(), {})
    if base not in clients:
        # Cookies stay with the caller they belong to, never in a shared client.
        clients[base] = httpx.AsyncClient(base_url=base, timeout=30,
                                          cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])))
    return await clients[base].request(method, path, headers=headers, **kwargs)


# What the API's validation says of a field, in the words a case worker reads:
# (the start of the message, what the form says instead).
_PLAIN = (
    ("Field required", "必填"),
    ("Input should be a valid datetime", "请填写日期和时间"),
    ("Input should be a valid date", "请填写日期"),
    ("List should have at least", "至少填写一项"),
    ("String should have at least", "请填写"),
    ("Input should be a valid integer", "请填写整数"),
    ("Input should be greater than or equal to 0", "请填写 0 或更大的数"),
    ("Input should be '", "请从选项中选择"),
)


def plain(message: str | None) -> str | None:
    if not message:
        return message
    message = message.removeprefix("Value error, ")
    return next((said for start, said in _PLAIN if message.startswith(start)), None) or refusals.field_chinese(message)


def problem(response: httpx.Response) -> dict | None:
    """The refusal in a response, or None when it succeeded."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text}
    errors = {e.get("field"): plain(e.get("message")) for e in body.get("errors") or [] if e.get("field")}
    if body.get("field") and body["field"] not in errors:
        errors[body["field"]] = plain(body.get("detail"))
    detail = plain(body.get("detail") or body.get("title"))
    if response.status_code == 422 and len(errors) > 1:
        detail = "请修改标出的各项"  # each field says its own; the summary named only the first in English
    if response.status_code == 409:
        detail = refusals.chinese(detail)
        if body.get("current_state"):
            # Not ready for this: the state it is in first, then the rule.
            detail = f"当前状态为「{zh(body['current_state'])}」,不能办理此项:{detail}"
    return {"status": response.status_code, "detail": detail, "fields": errors}
