"""Ids derived from business keys (uuid5), so a replayed message reaches the
same aggregate and a republished event keeps its id.

The namespace is part of every stored aggregate's id: changing it would lose
every aggregate already stored."""
from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

NAMESPACE = uuid.UUID("6f1d3a52-8c2e-5b7d-9a41-2c0e7f3b1d90")


def derive_id(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def sealed(secret: bytes, key: str) -> str:
    """A business key that holds personal data (a consumer's phone or identity
    number), as stored and as an aggregate's id is derived from it: keyed with
    the service's secret, so that an id on audit.log cannot be checked against
    a phone number by anyone who reads this code."""
    return hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()


# What intake gives each request it stores (intake.application.new_complaint_id):
# "TS-", the day it came in (China time), 12 hex digits.
COMPLAINT_ID = re.compile(r"TS-\d{8}-[0-9A-F]{12}")
