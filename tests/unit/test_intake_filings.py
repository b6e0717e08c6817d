"""A submission with the fields only a complaint has (Order No. 121's findings)
still encodes on the bus, as a complaint and, when it also reports a violation,
as a report without them."""
from datetime import datetime, timezone

import pytest

from services.bus.codec import default_codec
from services.intake.application import RECORD_TYPES, split_filings
from services.intake.models import parse_submission, to_record
from tests import factories

AT = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
PLATFORM = {"name": "某电商平台", "adcode": "330106", "seller_address_listed": False}


@pytest.mark.parametrize("extra", [
    {},
    {"alleged_violation": "COUNTERFEIT"},
])
def test_every_filing_fits_its_schema(extra):
    body = factories.complaint(3, identity_verification="REFUSED", false_materials=True, **extra)
    body["transaction"] = {**body["transaction"], "online": True, "platform": PLATFORM}
    kind, record = to_record(parse_submission(body))
    filings = split_filings(kind, record)
    assert [k for k, _ in filings] == (["COMPLAINT", "REPORT"] if extra else ["COMPLAINT"])
    codec = default_codec()
    for filing_kind, filed in filings:
        name, decoded = codec.decode(codec.encode(RECORD_TYPES[filing_kind],
                                                  {"event_id": "e-1", "occurred_at": AT, "complaint_id": "TS-1",
                                                   **filed}))
        assert decoded["transaction"]["platform"]["seller_address_listed"] is False
        if name == "ComplaintReceived":
            assert (decoded["identity_verification"], decoded["false_materials"]) == ("REFUSED", True)


def test_a_report_filed_alone_may_say_where_the_seller_listed_its_address():
    body = {**factories.complaint(5), "kind": "REPORT", "alleged_violation": "FALSE_ADVERTISING"}
    body.pop("demands")
    body["transaction"] = {**body["transaction"], "online": True, "platform": PLATFORM}
    kind, record = to_record(parse_submission(body))
    codec = default_codec()
    codec.encode("ReportReceived", {"event_id": "e-1", "occurred_at": AT, "complaint_id": "TS-2", **record})
