"""Signed checkpoints of the audit chain: a service's operator signs the head
of its chain (seq and hash) with an Ed25519 key only the operator holds. A
regulator with the public key can then prove which record is the head, and so
(by the hash linkage) everything before it, without trusting the topic.

The signature covers the canonical JSON (sorted keys, no spaces, UTF-8) of the
checkpoint without its "signature" field."""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningError(Exception):
    pass


def generate(path: Path) -> Path:
    """Write a new private key (readable by its owner only) and its public key
    beside it (`.pub`); returns the public key's path."""
    if path.exists():
        raise SigningError(f"{path} exists; choose another path (an existing key is never overwritten)")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    public = path.with_name(path.name + ".pub")
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


def _canonical(checkpoint: dict) -> bytes:
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(service: str, seq: int, chain_hash: str, private_key_path: Path, now: datetime | None = None) -> dict:
    try:
        key = serialization.load_pem_private_key(private_key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read the private key {private_key_path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{private_key_path} is not an Ed25519 key (make one with `tousu audit keygen`)")
    checkpoint = {"service": service, "seq": seq, "hash": chain_hash,
                  "signed_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")}
    checkpoint["signature"] = base64.b64encode(key.sign(_canonical(checkpoint))).decode("ascii")
    return checkpoint


def verified(checkpoint: dict, public_key_path: Path) -> bool:
    try:
        key = serialization.load_pem_public_key(public_key_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read the public key {public_key_path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{public_key_path} is not an Ed25519 public key")
    try:
        key.verify(base64.b64decode(checkpoint.get("signature", "")), _canonical(checkpoint))
        return True
    except (InvalidSignature, ValueError):
        return False
