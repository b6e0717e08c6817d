"""Who is calling: signed, expiring tokens naming an agency and a role.

The signing key comes from TOUSU_SIGNING_KEY, or is generated once into a file
and kept there, so tokens survive restarts of `tousu up`: `signing.key` in
TOUSU_DATA_DIR when that is set, else in the user's own configuration folder
(`$XDG_CONFIG_HOME/tousu`, by default `~/.config/tousu`). Never relative to the
working directory: `tousu token issue` run from anywhere must sign with the key
the running system checks."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt

ROLES = ("CASE_WORKER", "SUPERVISOR", "REGULATOR", "AGENCY_SYSTEM")
ISSUER = "tousu"
ALGORITHM = "HS256"


class Unauthenticated(Exception):
    """No usable token: missing, malformed, expired, forged or signed with another key."""


@dataclass(frozen=True)
class Principal:
    agency_id: str
    role: str
    # The person acting for the agency, when the token names one.
    person: str | None = None


def signing_key(env=os.environ) -> bytes:
    if env.get("TOUSU_SIGNING_KEY"):
        return env["TOUSU_SIGNING_KEY"].encode("utf-8")
    path = signing_key_path(env)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


def signing_key_path(env=os.environ) -> Path:
    if env.get("TOUSU_DATA_DIR"):
        return Path(env["TOUSU_DATA_DIR"]).expanduser().resolve() / "signing.key"
    config = Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME") or Path.home()) / ".config")
    return config.expanduser().resolve() / "tousu" / "signing.key"


def issue(agency_id: str, role: str, key: bytes, ttl: timedelta = timedelta(days=30),
          now: datetime | None = None, person: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    now = now or datetime.now(timezone.utc)
    claims = {"iss": ISSUER, "sub": agency_id, "role": role, "iat": now, "exp": now + ttl}
    if person:
        claims["name"] = person
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, key: bytes) -> Principal:
    from .oidc import identity_provider

    provider = identity_provider()
    if provider is not None:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            issuer = None
        if issuer == provider.issuer:
            return provider.verify(token)
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iss", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidSignatureError:
        # Most often issued where another key signs: another TOUSU_DATA_DIR or TOUSU_SIGNING_KEY.
        raise Unauthenticated("the token is not valid: it was not signed with this system's key (issue it with "
                              "`tousu token issue` under the same TOUSU_DATA_DIR or TOUSU_SIGNING_KEY)") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the token is not valid: {exc}") from None
    role, agency = claims.get("role"), claims.get("sub")
    if role not in ROLES or not isinstance(agency, str):
        raise Unauthenticated("the token names no known role and agency")
    person = claims.get("name")
    return Principal(agency, role, person if isinstance(person, str) and person else None)


def bearer(header: str | None, key: bytes) -> Principal:
    if not header:
        raise Unauthenticated("this route needs 'Authorization: Bearer TOKEN'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer TOKEN'")
    return verify(token.strip(), key)
