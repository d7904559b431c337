"""Password and client-secret hashes: argon2id, with a constant cost for unknown names.

argon2-cffi's defaults follow RFC 9106's second recommended choice (64 MiB, 3 passes),
deliberately slow. Checking a name that does not exist hashes a dummy password, so the
time an answer takes does not tell whether the user (or client) exists.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pacsbridge.errors import BadValue

MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()


def hash_secret(text: str) -> str:
    return _HASHER.hash(text)


def check_secret(stored_hash: str | None, text: str) -> bool:
    """Whether ``text`` matches; with no hash (unknown name) it costs the same and fails."""
    try:
        matched = _HASHER.verify(stored_hash or _dummy_hash(), text)
    except (VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def new_secret() -> str:
    """A client secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing (NIST SP 800-63B asks at least 8)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadValue(f"a password has at least {MIN_PASSWORD_LENGTH} characters", "password")
