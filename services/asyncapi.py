"""The bus as an AsyncAPI 3.0 document.

Built on demand from the topic registry, the inputs each service declares in its
spec module and the .avsc files, so it says what the running system does: a
new topic, record type or subscription shows up here without anyone editing it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from services.bus.access import service_inputs
from services.bus.codec import schema_dir
from services.bus import correlation
from services.bus.messages import HEADER_KEYS
from services.bus.topics import REFERRAL_INBOX, REGISTRY, Topic

ASYNCAPI_VERSION = "3.0.0"
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
# No media type names Avro single-object encoding; tools that guess from a more
# specific one would decode the body from byte 0 and fail on the header.
CONTENT_TYPE = "application/octet-stream"
KAFKA_BINDING = "0.5.0"
DEFAULT_HOST = "kafka:9092"
# The listener outside parties reach (docker-compose.yml: EXTERNAL, on KAFKA_EXTERNAL_HOST).
DEFAULT_EXTERNAL = "localhost:19092"

# Parties outside the four services and what the contract ("Who may do what")
# lets them read. What they write comes from the registry's writers.
EXTERNAL_READERS: dict[str, tuple[str, ...]] = {
    "agencies": (REFERRAL_INBOX.name, "public.complaints"),
    "consumer-associations": ("public.complaints",),
    "regulators": ("audit.log", "public.complaints"),
}
PARTIES = {
    "intake": "Receives complaints, reports and consultations (HTTP, CLI) and keeps the status view.",
    "routing": "Decides jurisdiction and acceptance, refers, transfers and watches decision deadlines.",
    "mediation": "Runs mediation cases from acceptance to agreement or termination.",
    "enforcement": "Opens and runs penalty cases from violations, reports and patterns.",
    "statistics": "Counts complaints, outcomes and lateness for regulators (a read model; writes only dead letters).",
    "desk": "Case workers' listings, console and public pages (a read model; writes only dead letters).",
    "agencies": "Other agencies' systems: each reads its own referral inbox and answers on referrals.replies.",
    "consumer-associations": "Consumer associations following complaint outcomes, with no personal data.",
    "regulators": "Supervising regulators verifying every service's hash-chained audit trail.",
}

KEYS = {
    "complaint_id": "The complaint id, UTF-8: one complaint's events stay in order in one partition.",
    "case_id": "The penalty case id (never a complaint id), UTF-8.",
    "service": "The publishing service's name, UTF-8: each service's chain stays in order.",
}
# The dead-letter relay has no complaint id for bytes it could not decode.
KEY_EXCEPTIONS = {"deadletter": " When the complaint is unknown, the name of the topic the input came from."}

ENCODING = (
    "Every message value is Avro single-object encoding: the two bytes `C3 01`, the 8-byte "
    "little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then "
    "the Avro binary body. A subscriber finds the writer schema by that fingerprint among the "
    "payload schemas below (older versions are in the repository's schemas/history/); no schema "
    "registry is involved. Compute the canonical form exactly as the Avro specification says: a "
    "primitive carrying a logicalType, such as `{\"type\": \"long\", \"logicalType\": "
    "\"timestamp-millis\"}`, becomes the bare `\"long\"` (Java's SchemaNormalization and fastavro "
    "agree; the Python `avro` package 1.12 keeps `{\"type\":\"long\"}` and gets another fingerprint)."
)
EMBEDDED = (
    "Without KAFKA_BOOTSTRAP_SERVERS, `tousu up` starts an embedded broker instead: Tansu, a "
    "Kafka-compatible broker, on a free loopback port (printed at start), holding topics in memory "
    "only. It speaks the same protocol, topics and encoding as production; it has no authentication, "
    "no idempotent producer or transactions, and loses everything when it stops."
)


def channel_id(topic: Topic) -> str:
    return "referralInbox" if topic is REFERRAL_INBOX else topic.name


def title(record_type: str) -> str:
    words = re.findall(r"[A-Z][a-z]*", record_type)
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def schemas() -> dict[str, dict]:
    """The current .avsc files as written, by record type."""
    out = {}
    for path in sorted(schema_dir().glob("*.avsc")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        out[raw["name"].rsplit(".", 1)[-1]] = raw
    return out


def readers() -> dict[str, list[str]]:
    """Topic name -> who reads it: the services, then the outside parties."""
    out: dict[str, list[str]] = {}
    for party, topics in (*service_inputs().items(), *EXTERNAL_READERS.items()):
        for name in topics:
            out.setdefault(name, []).append(party)
    return out


def _headers(record_type: str, topic: Topic) -> dict:
    from_agencies = "agencies" in topic.writers
    source = ("The answering agency's id." if from_agencies else
              "The publishing service: " + ", ".join(topic.writers) + ".")
    position = "The event's notification id in the source's log, in decimal; rises within a partition."
    if from_agencies:
        position += " Agencies may leave it out; their replies are then applied by event_id alone."
    described = {
        "event_id": {"type": "string", "description": "Unique id of the event; the same on every republish."},
        "event_type": {"type": "string", "const": record_type,
                       "description": "The record type: the name of the payload's writer schema."},
        "source": {"type": "string", "description": source},
        "position": {"type": "string", "pattern": "^[0-9]+$", "description": position},
    }
    optional = {correlation.REQUEST_ID: {
        "type": "string", "description": "The X-Request-ID of the HTTP request this message follows from, "
                                         "through any number of services; absent when none did."}}
    return {"type": "object", "description": "Kafka record headers, each value UTF-8 text.",
            "properties": {**{k: described[k] for k in HEADER_KEYS}, **optional},
            "required": [k for k in HEADER_KEYS if not (from_agencies and k == "position")]}


def _message(record_type: str, topic: Topic, schema: dict) -> dict:
    key = KEYS[topic.key] + KEY_EXCEPTIONS.get(topic.name, "")
    return {
        "name": record_type,
        "title": title(record_type),
        "summary": schema.get("doc", ""),
        "contentType": CONTENT_TYPE,
        "headers": _headers(record_type, topic),
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": schema},
        "bindings": {"kafka": {"key": {"type": "string", "description": key}, "bindingVersion": KAFKA_BINDING}},
    }


def _channel(topic: Topic) -> dict:
    channel = {
        "address": topic.name,
        "title": topic.name,
        "description": f"{topic.description} Key: {KEYS[topic.key]}{KEY_EXCEPTIONS.get(topic.name, '')}",
        "messages": {rt: {"$ref": f"#/components/messages/{rt}"} for rt in topic.record_types},
        "bindings": {"kafka": {"partitions": topic.partitions, "bindingVersion": KAFKA_BINDING}},
    }
    if topic is REFERRAL_INBOX:
        channel["parameters"] = {"agency_id": {
            "description": "The receiving agency's id, KIND-ADCODE: AMR, EEB, HC, EDU, TRANS, HOUSING or "
                           "TOUR with a county code; CA, NFRA or POST with a province code.",
            "examples": ["CA-310000", "EEB-310115"],
            "location": "$message.payload#/to_agency_id",
        }}
    return channel


def _operation(party: str, action: str, topic: Topic) -> dict:
    cid = channel_id(topic)
    verb = "publishes to" if action == "send" else "reads"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{cid}"},
        "title": f"{party} {verb} {topic.name}",
        "summary": topic.description,
        "messages": [{"$ref": f"#/channels/{cid}/messages/{rt}"} for rt in topic.record_types],
        "tags": [{"name": party}],
    }


def document(host: str | None = None, external: str | None = None) -> dict:
    """The AsyncAPI document; `host` is a KAFKA_BOOTSTRAP_SERVERS-style list (the
    services' listener), `external` the HOST:PORT outside parties connect to."""
    hosts = [h.strip() for h in (host or DEFAULT_HOST).split(",") if h.strip()]
    found = schemas()
    read_by = readers()
    topics = (*REGISTRY, REFERRAL_INBOX)
    channels, operations, messages = {}, {}, {}
    for topic in topics:
        cid = channel_id(topic)
        channels[cid] = _channel(topic)
        for rt in topic.record_types:
            messages[rt] = _message(rt, topic, found[rt])
        for party in topic.writers:
            operations[f"{party}.send.{cid}"] = _operation(party, "send", topic)
        for party in read_by.get(topic.name, ()):
            operations[f"{party}.receive.{cid}"] = _operation(party, "receive", topic)
    server = "Apache Kafka (KRaft). Every agency connects as its own Kafka user, whose ACLs let it read " \
             "only its referral inbox and public.complaints and write only referrals.replies."
    if len(hosts) > 1:
        server += " Further bootstrap servers: " + ", ".join(hosts[1:]) + "."
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "tousu consumer-complaint bus",
            "version": _version(),
            "description": "Consumer complaints from 12315 intake through routing, mediation and "
                           "enforcement, and the other agencies that share the work.\n\n"
                           f"{ENCODING}\n\n{EMBEDDED}",
            "tags": [{"name": k, "description": v} for k, v in PARTIES.items()],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "production": {
                "host": hosts[0], "protocol": "kafka", "title": "Production Kafka", "description": server,
                "security": [{"$ref": "#/components/securitySchemes/kafkaUser"}],
            },
            "external": {
                "host": external or DEFAULT_EXTERNAL, "protocol": "kafka", "title": "Production Kafka, from outside",
                "description": "The listener other agencies, regulators and consumer associations connect to "
                               "from outside the deployment, with their own Kafka user (SASL/SCRAM-SHA-512); "
                               "the production server above is the services' own, inside it.",
                "security": [{"$ref": "#/components/securitySchemes/kafkaUser"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {"kafkaUser": {
                "type": "scramSha512",
                "description": "SASL/SCRAM-SHA-512, one user per agency and per service "
                               "(KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD).",
            }},
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tousu")
    except PackageNotFoundError:
        return "0.0.0"


def write(path: str | Path, host: str | None = None) -> Path:
    path = Path(path)
    path.write_text(json.dumps(document(host), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
