"""Tokens from a bureau's OpenID Connect provider: its keys fetched from the
JWKS address in the settings, agency, role and person read from claims; a
token of another issuer, another key, an expired one or one without an agency
is refused like any bad token. The provider here is a JWKS document served
on loopback, as an identity provider serves it."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services import auth, oidc

ISSUER = "https://sso.amr.example/realms/bureau"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url():
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/protocol/openid-connect/certs"
    server.shutdown()


@pytest.fixture
def provider(monkeypatch, jwks_url):
    monkeypatch.setenv("TOUSU_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("TOUSU_OIDC_JWKS_URL", jwks_url)
    monkeypatch.setenv("TOUSU_OIDC_AUDIENCE", "tousu-console")
    monkeypatch.setenv("TOUSU_OIDC_AGENCY_CLAIM", "org")
    oidc.identity_provider.cache_clear()
    yield
    oidc.identity_provider.cache_clear()


def token(key=KEY, kid="k1", **claims) -> str:
    now = datetime.now(timezone.utc)
    body = {"iss": ISSUER, "aud": "tousu-console", "sub": "u-8812", "iat": now, "exp": now + timedelta(minutes=5),
            "org": "AMR-310115", "role": ["offline_access", "CASE_WORKER"], "name": "李明", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_a_providers_token_names_the_agency_role_and_person(provider):
    assert auth.verify(token(), b"own-key") == auth.Principal("AMR-310115", "CASE_WORKER", "李明")


def test_the_systems_own_tokens_still_work(provider):
    own = auth.issue("AMR-310000", "SUPERVISOR", b"own-key-of-thirty-two-bytes!!!!!", person="王芳")
    assert auth.verify(own, b"own-key-of-thirty-two-bytes!!!!!") == auth.Principal("AMR-310000", "SUPERVISOR", "王芳")


@pytest.mark.parametrize("bad", [
    token(key=STRANGER),
    token(exp=datetime.now(timezone.utc) - timedelta(minutes=1)),
    token(aud="another-client"),
    token(org=None),
    token(role=["offline_access"]),
    token(iss="https://sso.elsewhere.example"),
], ids=["stranger-key", "expired", "other-audience", "no-org", "no-role", "other-issuer"])
def test_bad_provider_tokens_are_refused(provider, bad):
    with pytest.raises(auth.Unauthenticated):
        auth.verify(bad, b"own-key")


def test_without_settings_no_provider_token_is_accepted(monkeypatch):
    monkeypatch.delenv("TOUSU_OIDC_ISSUER", raising=False)
    oidc.identity_provider.cache_clear()
    with pytest.raises(auth.Unauthenticated):
        auth.verify(token(), b"own-key")
