"""The desk's routes over HTTP (the FastAPI app with the desk's runner): a
token per role, pages linked by cursor, CSV on request, the public routes
open and free of personal data; and the whole OpenAPI document accepted by
a validator."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from services import auth, casework
from services.desk.application import Desk
from services.http import build_app
from tests.desk_feed import START, Feed, feed
from tests import factories

KEY = "unit-test-signing-key-thirty-two-bytes"
PUDONG, SHANGHAI = "AMR-310115", "AMR-310000"


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setenv("TOUSU_SIGNING_KEY", KEY)
    casework._key.cache_clear()
    app = Desk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.clock.now = lambda: START + timedelta(days=1)
    f = Feed()
    feed(app, [m for i in range(12) for m in f.complaint(f"c{i:02d}", PUDONG, START + timedelta(hours=i), seed=i)])
    yield TestClient(build_app({"desk": factories.runner("desk", app)}))
    app.close()
    casework._key.cache_clear()


def bearer(agency: str, role: str) -> dict:
    return {"Authorization": f"Bearer {auth.issue(agency, role, KEY.encode())}"}


def test_pages_follow_the_cursor_and_the_link_header(client):
    headers = bearer(PUDONG, "CASE_WORKER")
    seen, url = [], "/complaints?limit=5&sort=deadline"
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        body = response.json()
        seen += [i["complaint_id"] for i in body["items"]]
        link = response.headers.get("link")
        assert (link is None) == (body["next_cursor"] is None)
        url = re.match(r"<([^>]+)>", link)[1] if link else None
    assert seen == [f"c{i:02d}" for i in range(12)]


def test_csv_export_of_a_listing(client):
    for extra in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        headers = {**bearer(SHANGHAI, "REGULATOR"), **extra.get("headers", {})}
        response = client.get("/complaints", params=extra.get("params"), headers=headers)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert len(rows) == 12  # every row, not one page
        assert "consumer_name" not in rows[0]  # a regulator sees no personal data


@pytest.mark.parametrize("role, agency", [("REGULATOR", SHANGHAI), ("CASE_WORKER", PUDONG)])
@pytest.mark.parametrize("listing", ["/complaints", "/cases", "/public/complaints"])
def test_an_export_that_matches_nothing_still_has_its_header(client, listing, role, agency):
    def columns(params: dict) -> list[str]:
        response = client.get(listing, params={**params, "format": "csv"}, headers=bearer(agency, role))
        assert response.status_code == 200
        return next(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))), [])

    nothing = columns({"received_from": "2099-01-01"} if listing != "/cases" else {"opened_from": "2099-01-01"})
    assert {"complaint_id", "case_id"} & set(nothing)
    if listing != "/cases":  # the feed opens no penalty case: no row to compare with
        assert nothing == columns({})


@pytest.mark.parametrize("path, headers, status", [
    ("/complaints", {}, 401),
    ("/complaints", bearer("CA-310000", "AGENCY_SYSTEM"), 403),
    ("/complaints?status=NOPE", bearer(PUDONG, "CASE_WORKER"), 422),
    ("/complaints?cursor=garbage", bearer(PUDONG, "CASE_WORKER"), 422),
    ("/cases", {}, 401),
    ("/referrals?to=CA-310000", bearer("CA-440000", "AGENCY_SYSTEM"), 403),
    ("/referrals?to=CA-310000", bearer("CA-310000", "AGENCY_SYSTEM"), 200),
    ("/public/complaints", {}, 200),
    ("/public/complaints?received_from=yesterday", {}, 422),
    ("/public/complaints?uscc=bad", {}, 422),
    ("/public/complaints?uscc=913301060000000038", {}, 422),  # its check character is wrong
    ("/public/complaints?uscc=913301060000000039", {}, 200),
    ("/public/complaints?city=330106", {}, 422),  # a county, not a city
    ("/public/complaints?city=310000", {}, 200),
    ("/public/operators/abc", {}, 422),
    ("/public/operators/913301060000000039", {}, 200),
])
def test_refusals_are_problems_naming_the_field(client, path, headers, status):
    response = client.get(path, headers=headers)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        if status == 422:
            assert response.json()["field"] in ("status", "cursor", "received_from", "uscc", "city")


def test_public_routes_carry_no_personal_data(client):
    listing = client.get("/public/complaints?limit=100").json()
    uscc = listing["items"][0]["respondent_uscc"]
    disclosure = client.get(f"/public/operators/{uscc}").json()
    assert disclosure["complaints"] == 1
    text = json.dumps([listing, disclosure], ensure_ascii=False)
    assert "张伟" not in text and "13812345678" not in text


def whole_document() -> dict:
    runners = {n: factories.runner(n, SimpleNamespace(clock=None, submit_many=None))
               for n in ("intake", "routing", "mediation", "enforcement", "statistics", "desk")}
    return TestClient(build_app(runners)).get("/openapi.json").json()


def test_the_openapi_document_is_valid_complete_and_secured():
    document = whole_document()
    validate(document)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs <= set(document["components"]["schemas"]), refs - set(document["components"]["schemas"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operations = {(m, p): op for p, ops in document["paths"].items() for m, op in ops.items()}
    assert operations[("get", "/complaints")]["security"] == [{"bearer": []}]
    assert operations[("post", "/complaints/{complaint_id}/mediation/consent")]["security"] == [{"bearer": []}]
    assert "security" not in operations[("post", "/complaints")]
    assert "security" not in operations[("get", "/public/complaints")]
    # Case work on one complaint says it may be missing or not ready; the status is open, a token optional.
    assert {"404", "409"} <= set(operations[("post", "/complaints/{complaint_id}/mediation/consent")]["responses"])
    status = operations[("get", "/complaints/{complaint_id}")]
    assert status["security"] == [{}, {"bearer": []}] and "403" not in status["responses"]
    for (method, path), op in operations.items():
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
    listing = operations[("get", "/complaints")]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/ComplaintPage"}


@pytest.mark.parametrize("agency, role", [(PUDONG, "CASE_WORKER"), (SHANGHAI, "SUPERVISOR"), (SHANGHAI, "REGULATOR")])
def test_the_pages_over_http_hold_what_the_listing_holds(client, agency, role):
    """The HTTP page is rendered by the database; the console's by Python:
    the same complaints, field for field."""
    from services.desk import queries

    desk = client.app.state.desk
    for days, overdue in ((1, False), (70, True)):
        desk.clock.now = lambda: START + timedelta(days=days)
        body = client.get("/complaints?limit=100&sort=deadline", headers=bearer(agency, role)).json()
        listed = queries.complaints(desk, auth.Principal(agency, role), {}, "deadline", None, 100).to_dict()
        assert body == json.loads(json.dumps(listed))
        assert {item["overdue"] for item in body["items"]} == {overdue}


def test_a_code_generator_makes_a_client_of_every_route(tmp_path):
    """openapi-python-client reads the document and drops nothing: a route or
    schema it cannot parse is a warning, and the endpoint goes missing."""
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(whole_document(), ensure_ascii=False))
    generated = subprocess.run(
        [shutil.which("openapi-python-client") or "openapi-python-client", "generate", "--path", str(path),
         "--meta", "none", "--output-path", str(tmp_path / "client")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    output = generated.stdout + generated.stderr
    # The one thing it cannot do: NDJSON request bodies (bulk intake). Nothing else may warn.
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert all("POST /complaints/bulk" in line for line in warnings), output
    assert output.count("Unsupported content type") == output.count("Unsupported content type application/x-ndjson")
    modules = {p.stem for p in (tmp_path / "client" / "api").rglob("*.py")}
    assert {"list_complaints_complaints_get", "list_cases_cases_get", "list_referrals_referrals_get"} <= modules
    assert any(m.startswith("referral_reply") for m in modules)


def test_the_api_pages_load_every_asset_from_the_system_itself(client):
    # A government intranet reaches no CDN: Swagger UI's files come from here.
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc", follow_redirects=False).headers["location"] == "/docs"
