"""The key ring: signs our tokens and publishes the public keys as a JWK Set.

Keys live in the database (``store/signing_keys.py``) so that every process of a
deployment signs and verifies alike. A token whose ``kid`` this process does not know yet
makes it reload the ring once: another process may have rotated.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, RSAKey

from pacsbridge.auth.principal import NotAuthenticated
from pacsbridge.store.database import Database
from pacsbridge.store.signing_keys import add_key, load_keys

ALGORITHM = "RS256"  # SMART requires RS256 support for id_token; we sign everything with it
RELOAD_SECONDS = 30.0


class KeyRing:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._signing: RSAKey | None = None
        self._all = KeySet([])
        self._loaded_at = 0.0

    def _load(self) -> None:
        stored = load_keys(self.database)
        if not stored:
            rotate(self.database)
            stored = load_keys(self.database)
        keys = [RSAKey.import_key(orjson.loads(k.private_jwk)) for k in stored]
        signing = next((key for key, k in zip(keys, stored, strict=True) if k.retired_at is None),
                       keys[0])  # fmt: skip
        with self._lock:
            self._signing, self._all, self._loaded_at = signing, KeySet(keys), time.monotonic()

    def _fresh(self) -> None:
        if self._signing is None or time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self._load()

    def sign(self, claims: dict[str, Any]) -> str:
        self._fresh()
        assert self._signing is not None
        header = {"alg": ALGORITHM, "kid": self._signing.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._signing, algorithms=[ALGORITHM])

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a token we signed; the signature is checked, nothing else yet."""
        self._fresh()
        try:
            try:
                return self._decode(token)
            except InvalidKeyIdError:
                self._load()  # perhaps signed by a key another process made since
                return self._decode(token)
        except (JoseError, ValueError) as exc:
            raise NotAuthenticated(f"the token is not one this server signed: {exc}") from exc

    def _decode(self, token: str) -> dict[str, Any]:
        return dict(jwt.decode(token, self._all, algorithms=[ALGORITHM]).claims)

    def public_jwks(self) -> dict[str, Any]:
        self._fresh()
        return self._all.as_dict(private=False)


def rotate(database: Database) -> str:
    """Make a new signing key; older ones stop signing but keep verifying. Its kid."""
    kid = uuid.uuid4().hex[:16]
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    add_key(database, kid, ALGORITHM, orjson.dumps(key.as_dict(private=True)).decode())
    return kid
