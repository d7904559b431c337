"""The tables of the authorization server: users, clients, signing keys and grants.

Secrets never rest in clear: passwords are argon2 hashes, authorization codes and refresh
tokens are stored as SHA-256 digests, so a copy of the database gives no working token.
Signing keys are kept (private part included) so that every process signs and verifies
alike, and a retired key keeps verifying the tokens it signed until they expire.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from pacsbridge.store.tables import Pk, metadata

auth_user = Table(
    "auth_user",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # admin staff patient
    Column("patient_id", String(64), nullable=True),  # a patient user's Patient resource
    Column("fhir_user", String(140), nullable=True),  # "Practitioner/x" or "Patient/y"
    Column("display_name", String(200), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

# Wrong passwords in a row per username, known or not: an unknown name is slowed down
# exactly like a real one, so the lock tells nobody which usernames exist.
auth_login_throttle = Table(
    "auth_login_throttle",
    metadata,
    Column("username", String(128), primary_key=True),  # as typed, lower-cased
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("last_failure_at", DateTime, nullable=False),
)

auth_client = Table(
    "auth_client",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # public confidential backend
    Column("secret_hash", String(256), nullable=True),  # confidential clients
    Column("redirect_uris", Text, nullable=False, default="[]"),  # JSON list, exact match
    Column("scope", Text, nullable=False),  # the most it may be granted, space-separated
    Column("jwks", Text, nullable=True),  # backend clients: inline JWK Set (JSON)
    Column("jwks_url", String(1000), nullable=True),  # ... or where to fetch it
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

auth_signing_key = Table(
    "auth_signing_key",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("private_jwk", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("retired_at", DateTime, nullable=True),  # no longer signs; still verifies
)

# Authorization codes, refresh tokens and EHR launch contexts: one row per grant step.
auth_grant = Table(
    "auth_grant",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the code or token
    Column("kind", String(16), nullable=False),  # code refresh launch
    Column("client_id", String(128), nullable=True),
    Column("user_pk", Pk, nullable=True),
    Column("scope", Text, nullable=False, default=""),
    Column("context", Text, nullable=False, default="{}"),  # JSON: patient, redirect_uri, ...
    Column("family", String(64), nullable=True),  # refresh tokens rotated from one grant
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime, nullable=True),  # a code redeemed, a refresh token rotated
    Column("revoked", Boolean, nullable=False, default=False),
    # The access token issued with this step, revoked with the family on a replay.
    Column("access_jti", String(64), nullable=True),
    Column("access_expires_at", DateTime, nullable=True),
    Index("ix_auth_grant_family", "family"),
    Index("ix_auth_grant_expires", "expires_at"),
)

# Access token ids refused before their expiry (revocation), and client assertion ids
# already seen (a replayed jti is refused). Rows are kept until the token would expire.
auth_spent_id = Table(
    "auth_spent_id",
    metadata,
    Column("jti", String(200), primary_key=True),  # "revoked:<jti>" or "assertion:<client>:<jti>"
    Column("expires_at", DateTime, nullable=False),
    Index("ix_auth_spent_expires", "expires_at"),
)

# The audit trail: one row of facts per access to patient data, rendered as a FHIR
# AuditEvent when read. Kept apart from the resource tables because it is written at the
# rate of reads: one narrow row and its links cost a fraction of an indexed resource.
audit_event = Table(
    "audit_event",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),  # the AuditEvent's id
    Column("recorded", DateTime, nullable=False),
    Column("face", String(16), nullable=False),  # fhir dicomweb console api
    Column("interaction", String(64), nullable=False),
    Column("action", String(1), nullable=False),  # C R U D E
    Column("status", Integer, nullable=False),  # the HTTP status answered
    Column("kind", String(16), nullable=False),  # the principal: open anonymous user system
    Column("subject", String(200), nullable=False),
    Column("role", String(16), nullable=True),
    Column("client_id", String(128), nullable=True),
    Column("fhir_user", String(140), nullable=True),
    Column("address", String(64), nullable=True),
    Column("site", String(200), nullable=True),
    Column("query", Text, nullable=True),
    Column("entities", Text, nullable=False),  # JSON list, as recorded
    Column("patients", Text, nullable=False),  # JSON list of Patient ids
    Index("ix_audit_event_recorded", "recorded"),
    Index("ix_audit_event_subject", "subject"),
    Index("ix_audit_event_client", "client_id"),
)

# What an event is about, for search: kind "patient" (a Patient id), "entity" (a reference
# or urn:dicom:uid:…), "name" (a DICOM UID alone). Joined by event_id, not pk, so that a
# batch is written without RETURNING: see store/audit_log.py.
audit_event_link = Table(
    "audit_event_link",
    metadata,
    Column("event_id", String(36), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", String(200), nullable=False),
    Index("ix_audit_link_value", "kind", "value", "event_id"),
    Index("ix_audit_link_event", "event_id"),
)
