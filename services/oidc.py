"""Tokens from a bureau's identity provider (OpenID Connect), accepted
besides the system's own: the provider's issuer and JWKS address come from
the settings, the agency, role and person from the token's claims."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import jwt

from .auth import ROLES, Principal, Unauthenticated


@dataclass(frozen=True)
class IdentityProvider:
    """A bureau's OpenID Connect provider whose ID or access tokens the system
    accepts besides its own: TOUSU_OIDC_ISSUER and TOUSU_OIDC_JWKS_URL, with
    TOUSU_OIDC_AUDIENCE (the client id) when set, and the claims naming the
    agency (TOUSU_OIDC_AGENCY_CLAIM, default `agency_id`), the role
    (TOUSU_OIDC_ROLE_CLAIM, default `role`) and the person (`name`)."""

    issuer: str
    jwks_url: str
    audience: str | None = None
    agency_claim: str = "agency_id"
    role_claim: str = "role"
    person_claim: str = "name"

    @classmethod
    def from_env(cls, env=os.environ) -> "IdentityProvider | None":
        if not env.get("TOUSU_OIDC_ISSUER") or not env.get("TOUSU_OIDC_JWKS_URL"):
            return None
        return cls(env["TOUSU_OIDC_ISSUER"], env["TOUSU_OIDC_JWKS_URL"], env.get("TOUSU_OIDC_AUDIENCE") or None,
                   env.get("TOUSU_OIDC_AGENCY_CLAIM", "agency_id"), env.get("TOUSU_OIDC_ROLE_CLAIM", "role"),
                   env.get("TOUSU_OIDC_PERSON_CLAIM", "name"))

    def verify(self, token: str) -> Principal:
        try:
            signing = _jwks(self.jwks_url).get_signing_key_from_jwt(token)
            claims = jwt.decode(token, signing.key, algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                                issuer=self.issuer, audience=self.audience,
                                options={"require": ["exp", "iss"], "verify_aud": self.audience is not None})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"the identity provider's keys do not sign this token: {exc}") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        role, agency, person = (claims.get(self.role_claim), claims.get(self.agency_claim),
                                claims.get(self.person_claim))
        if isinstance(role, list):  # providers often give roles as a list
            role = next((r for r in role if r in ROLES), None)
        if role not in ROLES or not isinstance(agency, str):
            raise Unauthenticated(f"the token names no known role ({self.role_claim}) and agency ({self.agency_claim})")
        return Principal(agency, role, person if isinstance(person, str) and person else None)


@lru_cache(maxsize=8)
def _jwks(url: str) -> "jwt.PyJWKClient":
    # Keys are cached and fetched again when a token names an unknown key id.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)


@lru_cache(maxsize=1)
def identity_provider() -> IdentityProvider | None:
    return IdentityProvider.from_env()
