"""The parties as every service tells them apart: the same operator spelled
the same way, so that complaints about it can be counted and matched
together, and the same consumer known by the same key."""
from __future__ import annotations

import re
import unicodedata

from services.checks import text

# The Company Law lets a limited-liability company call itself either: one form.
# Other forms (股份有限公司, 分公司, 合伙) are different operators and keep their words.
_SAME_FORM = (("有限责任公司", "有限公司"),)


def normalise_name(name: str) -> str:
    """An operator's name as the same operator is spelled every time: full-width
    letters and digits made half-width, Latin letters lower-case, whitespace,
    punctuation (brackets included, their contents kept) and symbols dropped,
    and 有限责任公司 written 有限公司."""
    folded = unicodedata.normalize("NFKC", text(name, "name")).casefold()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] not in "PZSC")
    for variant, canonical in _SAME_FORM:
        if kept.endswith(variant):
            kept = kept[: -len(variant)] + canonical
    if not kept:
        raise ValueError(f"name {name!r} has nothing left to identify the operator")
    return kept


def person_key(consumer: dict) -> str:
    """A consumer (or reporter) as two of their requests are matched: by
    identity number, else by the digits of their phone; "" when neither is
    given. It is personal data: seal it before storing it (ids.sealed)."""
    id_number = consumer.get("id_number")
    phone = consumer.get("phone")
    return ((id_number.strip().upper() if isinstance(id_number, str) else "")
            or (re.sub(r"\D", "", phone) if isinstance(phone, str) else ""))
