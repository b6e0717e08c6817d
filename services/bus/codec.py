"""Avro single-object encoding of integration events, with no registry server.

A message is `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer schema's parsing canonical form, then the Avro binary body (Avro
specification, "Single-object encoding"). Any Avro library can decode it given
the files in schemas/. Older versions of a schema live in schemas/history/ as
`Name.vN.avsc`, so bytes written by an older writer still decode.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_SIZE = 10


class CodecError(ValueError):
    """Bytes that are not a message this system can read, or a record that does not fit its schema."""


def schema_dir() -> Path:
    # The schemas are shipped next to the code when installed, and live at the
    # repository root in a checkout.
    packaged = Path(__file__).resolve().parent / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class Schema:
    name: str
    version: int
    parsed: Any
    fingerprint: bytes
    path: Path


def _load(path: Path, version: int) -> Schema:
    raw = json.loads(path.read_text(encoding="utf-8"))
    # Parsed with fastavro's mark of a parsed schema: without it every read
    # and write parses the schema again, which costs more than the body.
    parsed = fastavro.parse_schema(raw)
    # fastavro gives the fingerprint's bytes already in the little-endian order
    # the single-object header wants.
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
    name = parsed["name"].rsplit(".", 1)[-1]
    return Schema(name, version, parsed, fp, path)


class Codec:
    def __init__(self, directory: Path | None = None):
        directory = directory or schema_dir()
        self.current: dict[str, Schema] = {}
        self.by_fingerprint: dict[bytes, Schema] = {}
        self.history: dict[str, list[Schema]] = {}
        for path in sorted(directory.glob("*.avsc")):
            schema = _load(path, version=0)
            self.current[schema.name] = schema
            self.by_fingerprint[schema.fingerprint] = schema
        for path in sorted((directory / "history").glob("*.v*.avsc")):
            version = int(path.name.rsplit(".v", 1)[1].split(".")[0])
            schema = _load(path, version)
            self.history.setdefault(schema.name, []).append(schema)
            self.by_fingerprint.setdefault(schema.fingerprint, schema)

    def encode(self, record_type: str, record: dict) -> bytes:
        try:
            schema = self.current[record_type]
        except KeyError:
            raise CodecError(f"no schema for record type {record_type!r}") from None
        out = io.BytesIO()
        out.write(MAGIC + schema.fingerprint)
        try:
            fastavro.schemaless_writer(out, schema.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError(f"{record_type} does not fit its schema: {exc}") from exc
        return out.getvalue()

    def decode(self, data: bytes) -> tuple[str, dict]:
        """(record type, record) read with the current schema of that type."""
        if not isinstance(data, (bytes, bytearray)) or len(data) < HEADER_SIZE:
            raise CodecError("message is shorter than the 10-byte single-object header")
        if data[:2] != MAGIC:
            raise CodecError(f"message does not start with the Avro single-object marker C3 01 (got {data[:2].hex()})")
        writer = self.by_fingerprint.get(bytes(data[2:HEADER_SIZE]))
        if writer is None:
            raise CodecError(f"unknown schema fingerprint {bytes(data[2:HEADER_SIZE]).hex()}")
        reader = self.current.get(writer.name, writer)
        body = io.BytesIO(data[HEADER_SIZE:])
        try:
            record = fastavro.schemaless_reader(body, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise CodecError(f"body does not decode as {writer.name}: {exc!r}") from exc
        if body.tell() != len(data) - HEADER_SIZE:
            raise CodecError(f"{len(data) - HEADER_SIZE - body.tell()} trailing bytes after a {writer.name} body")
        return writer.name, record


@lru_cache(maxsize=1)
def default_codec() -> Codec:
    return Codec()
