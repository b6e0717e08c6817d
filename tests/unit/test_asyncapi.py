"""The AsyncAPI document: valid against the official AsyncAPI 3.0 JSON Schema
(vendored from @asyncapi/specs, see tests/data/README.md) and faithful to the
registry, the services' inputs and schemas/."""
import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from services import asyncapi
from services.asyncapi_cli import cmd_asyncapi, router
from services.bus.codec import schema_dir
from services.bus.messages import HEADER_KEYS
from services.bus.topics import REFERRAL_INBOX, REGISTRY, SERVICES, record_types

OFFICIAL_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "asyncapi-3.0.0-schema.json"


@pytest.fixture(scope="module")
def doc():
    return asyncapi.document()


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def problems(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_document_is_valid_asyncapi_3(doc, validator):
    assert problems(validator, doc) == []


@pytest.mark.parametrize("breakage", ["unnamed avro record", "unknown field", "bad action"])
def test_validator_reaches_into_references_and_avro_payloads(doc, validator, breakage):
    # A validator that cannot follow the bundle's references accepts anything.
    broken = copy.deepcopy(doc)
    if breakage == "unnamed avro record":
        del broken["components"]["messages"]["AuditRecord"]["payload"]["schema"]["name"]
    elif breakage == "unknown field":
        broken["channels"]["audit.log"]["retention"] = "forever"
    else:
        broken["operations"]["regulators.receive.audit.log"]["action"] = "subscribe"
    assert not validator.is_valid(broken)


def test_every_topic_is_a_channel(doc):
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in REGISTRY} | {"referrals.{agency_id}"}
    for topic in REGISTRY:
        channel = doc["channels"][topic.name]
        assert set(channel["messages"]) == set(topic.record_types)
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions


def test_referral_inbox_is_a_parameterised_channel(doc):
    inbox = doc["channels"]["referralInbox"]
    assert inbox["address"] == "referrals.{agency_id}"
    assert set(inbox["parameters"]) == {"agency_id"}
    assert set(inbox["messages"]) == {"ReferralIssued"}


def test_every_record_type_is_a_message(doc):
    avsc = {p.stem for p in schema_dir().glob("*.avsc")}
    assert set(doc["components"]["messages"]) == record_types() == avsc


def test_each_payload_is_its_avsc_file(doc):
    for path in schema_dir().glob("*.avsc"):
        message = doc["components"]["messages"][path.stem]
        assert message["payload"] == {"schemaFormat": "application/vnd.apache.avro+json;version=1.9.0",
                                      "schema": json.loads(path.read_text(encoding="utf-8"))}
        assert message["name"] == path.stem
        assert message["summary"] == message["payload"]["schema"]["doc"]


def test_messages_name_their_headers_and_key(doc):
    for topic in (*REGISTRY, REFERRAL_INBOX):
        for record_type in topic.record_types:
            message = doc["components"]["messages"][record_type]
            assert list(message["headers"]["properties"]) == [*HEADER_KEYS, "request_id"]
            assert "request_id" not in message["headers"]["required"]
            assert message["headers"]["properties"]["event_type"]["const"] == record_type
            assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert "position" not in doc["components"]["messages"]["ReferralDeclined"]["headers"]["required"]
    assert "position" in doc["components"]["messages"]["ComplaintAccepted"]["headers"]["required"]


def parties(doc, action: str, channel: str) -> set[str]:
    return {op["tags"][0]["name"] for op in doc["operations"].values()
            if op["action"] == action and op["channel"]["$ref"] == f"#/channels/{channel}"}


def test_senders_are_the_topics_writers(doc):
    for topic in (*REGISTRY, REFERRAL_INBOX):
        assert parties(doc, "send", asyncapi.channel_id(topic)) == set(topic.writers)


def test_receivers_are_the_services_inputs_and_the_outside_parties(doc):
    expected = {
        "complaints.received": {"routing", "enforcement", "statistics", "desk"},
        "complaints.decisions": {"intake", "mediation", "statistics", "desk"},
        "referrals.replies": {"routing"},  # the desk follows routing's ReferralAnswered instead
        "mediation.events": {"intake", "statistics", "desk"},
        "violations.found": {"enforcement", "desk"},
        "enforcement.cases": {"intake", "statistics", "desk"},
        "audit.log": {"regulators"},
        "public.complaints": {"agencies", "consumer-associations", "regulators"},
        "deadletter": set(),
        "referralInbox": {"agencies"},
    }
    assert {c: parties(doc, "receive", c) for c in doc["channels"]} == expected
    inputs = asyncapi.service_inputs()
    for service in SERVICES:
        received = {doc["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
                    for op in doc["operations"].values()
                    if op["action"] == "receive" and op["tags"][0]["name"] == service}
        assert received == set(inputs[service])


def resolve(doc, ref: str):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_references_resolve_and_operations_use_their_channels_messages(doc):
    # What the JSON Schema cannot check and AsyncAPI parsers do.
    for ref in refs(doc):
        resolve(doc, ref)
    for op in doc["operations"].values():
        channel_ref = op["channel"]["$ref"]
        assert op["messages"] and all(m["$ref"].startswith(channel_ref + "/messages/") for m in op["messages"])
    for tag in {op["tags"][0]["name"] for op in doc["operations"].values()}:
        assert tag in {t["name"] for t in doc["info"]["tags"]}


def test_description_explains_the_single_object_encoding(doc):
    text = doc["info"]["description"]
    for needle in ("C3 01", "8-byte", "little-endian", "CRC-64-AVRO", "Avro binary body", "embedded broker"):
        assert needle in text


def test_production_server_comes_from_a_bootstrap_list():
    assert asyncapi.document()["servers"]["production"]["host"] == "kafka:9092"
    server = asyncapi.document("k1.example:9093, k2.example:9093")["servers"]["production"]
    assert server["host"] == "k1.example:9093" and "k2.example:9093" in server["description"]
    assert server["protocol"] == "kafka"


class Args:
    def __init__(self, **kw):
        self.yaml, self.output, self.server = kw.get("yaml", False), kw.get("output"), kw.get("server")


def test_cli_prints_json_or_yaml_and_writes_files(doc, capsys, tmp_path):
    assert cmd_asyncapi(Args()) == 0
    assert json.loads(capsys.readouterr().out) == doc
    assert cmd_asyncapi(Args(yaml=True)) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("asyncapi: 3.0.0") and yaml.safe_load(printed) == doc
    cmd_asyncapi(Args(output=str(tmp_path / "bus.yaml"), yaml=True))
    assert yaml.safe_load((tmp_path / "bus.yaml").read_text(encoding="utf-8")) == doc
    asyncapi.write(tmp_path / "bus.json")
    assert json.loads((tmp_path / "bus.json").read_text(encoding="utf-8")) == doc


def test_http_serves_the_document(doc):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    app.include_router(router())
    response = TestClient(app).get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == doc
