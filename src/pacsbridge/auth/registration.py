"""Registering clients and creating EHR launches: shared by the CLI and the admin API.

A confidential client's secret is generated here, shown once and kept only as an argon2
hash. An EHR launch is an opaque id standing for a patient context, made by staff for
an app they open from their own system (SMART "EHR launch"); the app passes it back as
``launch`` to ``/auth/authorize``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import orjson

from pacsbridge.auth.passwords import hash_secret, new_secret
from pacsbridge.errors import BadValue, UnknownKey
from pacsbridge.store.clients import Client, add_client
from pacsbridge.store.database import Database
from pacsbridge.store.grants import save_step
from pacsbridge.store.users import patient_exists

LAUNCH_SECONDS = 15 * 60


def register_client(
    database: Database,
    *,
    client_id: str | None,
    name: str,
    kind: str,
    scope: str,
    redirect_uris: list[str] | tuple[str, ...] = (),
    jwks: dict[str, Any] | str | None = None,
    jwks_url: str | None = None,
) -> tuple[Client, str | None]:
    """The new client and, for a confidential one, its secret (shown once, never again)."""
    secret = new_secret() if kind == "confidential" else None
    if isinstance(jwks, dict):
        jwks = orjson.dumps(jwks).decode()
    client = add_client(
        database,
        client_id=client_id or secrets.token_urlsafe(12),
        name=name,
        kind=kind,
        scope=scope,
        secret_hash=hash_secret(secret) if secret else None,
        redirect_uris=tuple(redirect_uris),
        jwks=jwks,
        jwks_url=jwks_url,
    )
    return client, secret


def create_launch(database: Database, patient: str | None) -> str:
    """An EHR launch id for ``patient``, good for 15 minutes."""
    if not patient or not isinstance(patient, str):
        raise BadValue("a launch needs the id of a Patient", "patient")
    patient = patient.removeprefix("Patient/")
    if not patient_exists(database, patient):
        raise UnknownKey(f"Patient/{patient} is not known", "patient")
    launch = secrets.token_urlsafe(24)
    save_step(
        database,
        launch,
        kind="launch",
        lifetime=timedelta(seconds=LAUNCH_SECONDS),
        context={"patient": patient},
    )
    return launch
