"""`tousu submit FILE`: one JSON request, however laid out, goes to `POST
/complaints` as before; several JSON lines go in one bulk call."""
import json

import pytest

from services.commands import _is_ndjson
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
