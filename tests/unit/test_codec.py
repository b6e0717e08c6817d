"""The Avro contract: every schema parses, belongs to a topic, and round-trips."""
import io
import json

import fastavro
import pytest

from services.bus import topics
from services.bus.codec import MAGIC, CodecError, default_codec, schema_dir
from tests.examples import EXAMPLES

SCHEMA_FILES = sorted(schema_dir().glob("*.avsc"))


def test_every_schema_file_parses_and_names_itself_after_its_file():
    assert len(SCHEMA_FILES) >= 28
    for path in SCHEMA_FILES:
        parsed = fastavro.parse_schema(json.loads(path.read_text()))
        assert parsed["name"].rsplit(".", 1)[-1] == path.stem


def test_every_record_type_of_every_topic_has_a_schema_and_every_schema_a_topic():
    codec = default_codec()
    assert topics.record_types() == set(codec.current)


def test_every_record_type_has_an_example_message():
    assert set(EXAMPLES) == set(default_codec().current)


@pytest.mark.parametrize("record_type", sorted(EXAMPLES))
def test_example_round_trips_with_single_object_encoding(record_type):
    codec = default_codec()
    data = codec.encode(record_type, EXAMPLES[record_type])
    assert data[:2] == MAGIC
    assert data[2:10] == codec.current[record_type].fingerprint
    decoded_type, record = codec.decode(data)
    assert decoded_type == record_type
    assert record == EXAMPLES[record_type]


def _crc64_avro(data: bytes) -> int:
    # The reference algorithm from the Avro specification, written out so the
    # header is checked against the spec rather than against the library.
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_header_carries_the_little_endian_crc64_avro_of_the_canonical_form():
    from fastavro.schema import to_parsing_canonical_form
    assert _crc64_avro(b'"null"') == 0x63DD24E7CC258F8A  # the specification's test vector
    codec = default_codec()
    for schema in codec.current.values():
        canonical = to_parsing_canonical_form(schema.parsed).encode()
        assert schema.fingerprint == _crc64_avro(canonical).to_bytes(8, "little")


@pytest.mark.parametrize("data,message", [
    (b"", "shorter"),
    (b"\x00\x01" + bytes(20), "marker"),
    (MAGIC + bytes(8) + b"\x02", "unknown schema fingerprint"),
])
def test_bytes_that_are_not_a_message_raise_a_clear_error(data, message):
    with pytest.raises(CodecError, match=message):
        default_codec().decode(data)


def test_a_truncated_body_raises_a_clear_error():
    codec = default_codec()
    data = codec.encode("ComplaintReceived", EXAMPLES["ComplaintReceived"])
    with pytest.raises(CodecError, match="ComplaintReceived"):
        codec.decode(data[:-5])


def test_a_record_that_does_not_fit_its_schema_is_refused_naming_the_type():
    bad = dict(EXAMPLES["ComplaintAccepted"], jurisdiction_basis="BECAUSE")
    with pytest.raises(CodecError, match="ComplaintAccepted"):
        default_codec().encode("ComplaintAccepted", bad)


def _project(schema, value):
    """The part of `value` that `schema` (parsed) describes, nested records included."""
    if isinstance(schema, list):
        if value is None:
            return None
        branch = next(b for b in schema if b != "null" and not (isinstance(b, str) and b == "null"))
        return _project(branch, value)
    if isinstance(schema, dict) and schema.get("type") == "record":
        return {f["name"]: _project(f["type"], value[f["name"]]) for f in schema["fields"]}
    if isinstance(schema, dict) and schema.get("type") == "array":
        return [_project(schema["items"], v) for v in value]
    return value


def _versions():
    codec = default_codec()
    return [(name, old) for name, olds in codec.history.items() for old in olds]


@pytest.mark.parametrize("name,old", _versions() or [pytest.param(None, None, marks=pytest.mark.skip("no schema has an older version yet"))])
def test_schema_evolution_both_ways(name, old):
    """Old bytes read with the new schema, new bytes read with the old one."""
    codec = default_codec()
    new = codec.current[name]
    example = EXAMPLES[name]
    old_record = _project(old.parsed, example)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, old.parsed, old_record)
    read_new = fastavro.schemaless_reader(io.BytesIO(out.getvalue()), old.parsed, new.parsed)
    assert _project(old.parsed, read_new) == old_record
    assert read_new != example  # the fields the old writer lacked came from defaults
    decoded_name, via_codec = codec.decode(MAGIC + old.fingerprint + out.getvalue())
    assert decoded_name == name and via_codec == read_new
    out = io.BytesIO()
    fastavro.schemaless_writer(out, new.parsed, example)
    read_old = fastavro.schemaless_reader(io.BytesIO(out.getvalue()), new.parsed, old.parsed)
    assert read_old == old_record
