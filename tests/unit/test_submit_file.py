"""`tousu submit FILE`: one JSON request, however laid out, goes to `POST
/complaints` as before; several JSON lines go in one bulk call."""
import argparse
import json

import pytest

from services.commands import _is_ndjson, _url
from tests import factories

ONE = factories.complaint(1)


@pytest.mark.parametrize("name, text, bulk", [
    ("complaint.json", json.dumps(ONE), False),
    ("complaint.json", json.dumps(ONE, indent=2, ensure_ascii=False), False),
    ("-", json.dumps(ONE) + "\n" + json.dumps(factories.complaint(2)) + "\n", True),
    ("batch.ndjson", json.dumps(ONE) + "\n", True),
    ("batch.jsonl", json.dumps(ONE), True),
    # Not JSON at all: still one request, so the server's 400 says what is wrong.
    ("complaint.json", '{"kind": "COMPLAINT",\n "channel": ', False),
    ("complaint.json", "kind=COMPLAINT\nchannel=WEB\n", False),
])
def test_one_request_or_a_bulk(name, text, bulk):
    assert _is_ndjson(name, text) is bulk


@pytest.mark.parametrize("env, url", [
    ({}, "http://127.0.0.1:8315"),
    ({"TOUSU_HTTP_PORT": "18315", "TOUSU_HTTP_HOST": "10.1.2.3"}, "http://10.1.2.3:18315"),
    ({"TOUSU_HTTP_HOST": "0.0.0.0"}, "http://127.0.0.1:8315"),  # every interface: this machine's too
    ({"TOUSU_HTTP_HOST": "::1"}, "http://[::1]:8315"),
    ({"TOUSU_HTTP_HOST": "[::1]"}, "http://[::1]:8315"),
    ({"TOUSU_HTTP_HOST": "10.1.2.3", "TOUSU_URL": "https://tousu.example/"}, "https://tousu.example"),
])
def test_submit_and_status_go_where_tousu_up_listens(monkeypatch, env, url):
    for name in ("TOUSU_HTTP_PORT", "TOUSU_HTTP_HOST", "TOUSU_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _url(argparse.Namespace(url=None)) == url
