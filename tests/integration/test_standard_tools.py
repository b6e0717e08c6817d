"""A subscriber with nothing of ours but schemas/: the project publishes one example
of every record type, a stock librdkafka client (confluent-kafka) reads them back,
and the Apache `avro` library decodes them, finding each writer schema by the
single-object header's fingerprint. No project code takes part in the reading."""
import asyncio
import io
import json
import time
from pathlib import Path

import avro.io
import avro.schema
import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka import Consumer, TopicPartition

from services.bus.broker import create_topics
from services.bus.codec import default_codec
from services.bus.topics import REFERRAL_INBOX, referral_inbox, topics_carrying
from tests.examples import EXAMPLES

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


# --- the subscriber's side: Avro specification + the avro library + schemas/ ---

def canonical_form(schema: avro.schema.Schema) -> str:
    """The specification's Parsing Canonical Form.

    avro 1.12 keeps `{"type":"long"}` where a primitive carried a logicalType;
    the specification's [PRIMITIVES] rule (and Java, and every writer that
    follows it) makes that the bare "long", so the fingerprints would differ."""
    def primitive(node):
        if isinstance(node, dict):
            if set(node) == {"type"} and node["type"] in PRIMITIVES:
                return node["type"]
            return {k: primitive(v) for k, v in node.items()}
        if isinstance(node, list):
            return [primitive(v) for v in node]
        return node
    return json.dumps(primitive(json.loads(schema.canonical_form)), separators=(",", ":"), ensure_ascii=False)


def fingerprint(schema: avro.schema.Schema) -> bytes:
    # The canonical form has no logical types left, so avro's own fingerprint of
    # it is the specification's CRC-64-AVRO, little-endian as on the wire.
    return avro.schema.parse(canonical_form(schema)).fingerprint("CRC-64-AVRO")


def writer_schemas() -> dict[bytes, avro.schema.RecordSchema]:
    found = {}
    for path in [*sorted(SCHEMAS.glob("*.avsc")), *sorted(SCHEMAS.glob("history/*.avsc"))]:
        schema = avro.schema.parse(path.read_text(encoding="utf-8"))
        found.setdefault(fingerprint(schema), schema)
    return found


def decode(value: bytes, writers: dict) -> tuple[avro.schema.RecordSchema, dict]:
    assert value[:2] == b"\xc3\x01", value[:2].hex()
    writer = writers[value[2:10]]
    body = io.BytesIO(value[10:])
    record = avro.io.DatumReader(writer).read(avro.io.BinaryDecoder(body))
    assert body.tell() == len(value) - 10, "trailing bytes after the body"
    return writer, record


def read_back(bootstrap: str, where: list[tuple[str, int, int]], timeout: float = 30.0) -> dict:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "tousu-standard-tools",
                         "enable.auto.commit": False})
    try:
        # assign(), not subscribe(): no group join, which is slow on the embedded broker.
        start = {}
        for topic, partition, offset in where:
            start[(topic, partition)] = min(offset, start.get((topic, partition), offset))
        consumer.assign([TopicPartition(topic, partition, offset) for (topic, partition), offset in start.items()])
        wanted, got, deadline = set(where), {}, time.monotonic() + timeout
        while not wanted <= set(got) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert not message.error(), message.error()
            got[(message.topic(), message.partition(), message.offset())] = message
        return {k: v for k, v in got.items() if k in wanted}
    finally:
        consumer.close()


# --- the project's side: publish every example with its own codec ---

def concrete_topic(topic, record) -> str:
    return referral_inbox(record["to_agency_id"]) if topic is REFERRAL_INBOX else topic.name


async def publish_examples(bootstrap: str) -> dict[tuple[str, int, int], tuple[str, bytes | None, list]]:
    await create_topics(bootstrap, [referral_inbox(EXAMPLES["ReferralIssued"]["to_agency_id"])])
    codec = default_codec()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    sent = {}
    try:
        for position, (record_type, record) in enumerate(EXAMPLES.items()):
            for topic in topics_carrying(record_type):
                key = record.get(topic.key)
                key = key.encode("utf-8") if key is not None else None
                headers = [("event_id", record["event_id"].encode()), ("event_type", record_type.encode()),
                           ("source", topic.writers[0].encode()), ("position", str(position).encode())]
                name = concrete_topic(topic, record)
                meta = await producer.send_and_wait(name, codec.encode(record_type, record), key=key, headers=headers)
                sent[(name, meta.partition, meta.offset)] = (record_type, key, headers)
    finally:
        await producer.stop()
    return sent


def with_defaults(record: dict, schema: avro.schema.RecordSchema) -> dict:
    """The example as a reader sees it: fields it leaves out take the schema's defaults."""
    return {f.name: record[f.name] if f.name in record else f.default for f in schema.fields}


@pytest.mark.timeout(120)
def test_stock_kafka_client_and_apache_avro_read_every_record_type(bus):
    sent = asyncio.run(publish_examples(bus.bootstrap_servers))
    assert {record_type for record_type, _, _ in sent.values()} == set(EXAMPLES)

    got = read_back(bus.bootstrap_servers, list(sent))
    assert set(got) == set(sent), f"not read back: {sorted(set(sent) - set(got))}"

    writers = writer_schemas()
    for where, (record_type, key, headers) in sent.items():
        message = got[where]
        assert message.key() == key
        assert message.headers() == headers
        writer, record = decode(message.value(), writers)
        assert writer.name == record_type
        assert record == with_defaults(EXAMPLES[record_type], writer), record_type


def test_every_schema_has_a_distinct_fingerprint():
    paths = [*SCHEMAS.glob("*.avsc"), *SCHEMAS.glob("history/*.avsc")]
    assert len(writer_schemas()) == len(paths)
