from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services import auth
from services.agencies import authority

KEY = b"k" * 32


def test_a_token_names_its_agency_and_role():
    token = auth.issue("AMR-310115", "CASE_WORKER", KEY)
    assert auth.verify(token, KEY) == auth.Principal("AMR-310115", "CASE_WORKER")


def test_an_expired_token_is_refused():
    token = auth.issue("AMR-310115", "CASE_WORKER", KEY, ttl=timedelta(days=1),
                       now=datetime.now(timezone.utc) - timedelta(days=2))
    with pytest.raises(auth.Unauthenticated, match="expired"):
        auth.verify(token, KEY)


def test_a_token_signed_with_another_key_is_refused():
    with pytest.raises(auth.Unauthenticated, match="TOUSU_DATA_DIR or TOUSU_SIGNING_KEY"):  # how it came about
        auth.verify(auth.issue("AMR-310115", "CASE_WORKER", b"other" * 8), KEY)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer not.a.token", "Token x"])
def test_missing_or_malformed_headers_are_refused(header):
    with pytest.raises(auth.Unauthenticated):
        auth.bearer(header, KEY)


def test_an_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError, match="role"):
        auth.issue("AMR-310115", "ADMIN", KEY)


TOKEN = auth.issue("AMR-310115", "CASE_WORKER", KEY, ttl=timedelta(days=3650))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(TOKEN) - 1), st.integers(min_value=1, max_value=255))
def test_any_single_byte_changed_is_refused(index, delta):
    raw = bytearray(TOKEN.encode("ascii"))
    raw[index] = (raw[index] + delta) % 256
    forged = bytes(raw).decode("latin-1")
    try:
        principal = auth.verify(forged, KEY)
    except auth.Unauthenticated:
        return
    # base64url padding bits can absorb a change that decodes to the same bytes;
    # such a token is the same token, not a forgery.
    assert principal == auth.Principal("AMR-310115", "CASE_WORKER")
    import base64
    def decoded(t):
        return [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in t.split(".")]
    assert decoded(forged) == decoded(TOKEN)


@pytest.mark.parametrize("who,agency,allowed", [
    (auth.Principal("AMR-310115", "CASE_WORKER"), "AMR-310115", True),
    (auth.Principal("AMR-310115", "CASE_WORKER"), "AMR-110108", False),
    (auth.Principal("AMR-310000", "SUPERVISOR"), "AMR-310115", True),
    (auth.Principal("AMR-310000", "CASE_WORKER"), "AMR-310115", False),
    (auth.Principal("AMR-110000", "SUPERVISOR"), "AMR-310115", False),
    (auth.Principal("AMR-310115", "REGULATOR"), "AMR-310115", False),
    (auth.Principal("CA-310000", "AGENCY_SYSTEM"), "AMR-310115", False),
])
def test_who_may_act_on_a_case(who, agency, allowed):
    superiors = {("AMR-310000", "AMR-310115")}
    check = lambda upper, lower: (upper, lower) in superiors  # noqa: E731
    if allowed:
        authority.may_act(who, agency, check)
    else:
        with pytest.raises(authority.Forbidden):
            authority.may_act(who, agency, check)


def test_a_case_worker_of_the_bureau_above_is_told_a_supervisor_may_act():
    check = lambda upper, lower: (upper, lower) == ("AMR-310000", "AMR-310115")  # noqa: E731
    with pytest.raises(authority.Forbidden, match="a SUPERVISOR of AMR-310000, above it, may act"):
        authority.may_act(auth.Principal("AMR-310000", "CASE_WORKER"), "AMR-310115", check)
