"""Password hashing (argon2id), access tokens (JWT) and opaque secrets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from seniorsafe.accounts.models import Role
from seniorsafe.config import Settings

_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)  # argon2id
# A hash to verify against when the account does not exist, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_opaque_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy random token (a slow hash adds nothing for 256-bit secrets)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: taken from a verified access token."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    session_id: uuid.UUID  # refresh-token family; logout revokes it

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_guardian(self) -> bool:
        return self.role is Role.guardian


ALGORITHM = "HS256"


def issue_access_token(settings: Settings, principal: Principal, now: datetime | None = None) -> tuple[str, int]:
    now = now or datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(principal.user_id),
        "org": str(principal.org_id),
        "role": principal.role.value,
        "sid": str(principal.session_id),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), int(lifetime.total_seconds())


class InvalidToken(Exception):
    pass


def decode_access_token(settings: Settings, token: str) -> tuple[Principal, int]:
    """Return the principal and the token's expiry (unix seconds)."""
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=[ALGORITHM],
                            options={"require": ["exp", "sub", "org", "role", "sid"]})
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        principal = Principal(uuid.UUID(claims["sub"]), uuid.UUID(claims["org"]), Role(claims["role"]),
                              uuid.UUID(claims["sid"]))
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("access token expired") from exc
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise InvalidToken("invalid access token") from exc
    return principal, int(claims["exp"])
