"""``pacsbridge users``, ``clients`` and ``keys`` on the session's database."""

from __future__ import annotations

import json
import uuid

import httpx
from typer.testing import CliRunner

from pacsbridge.cli import app
from pacsbridge.store.users import find_user
from tests.auth.flows import PASSWORD, Authorization, new_patient, public_jwks, rsa_key

runner = CliRunner()


def _run(settings, group: str, *args: str, stdin: str | None = None):
    result = runner.invoke(
        app, [group, "--database-url", settings.database_url, *args], input=stdin
    )
    return result


def test_users_are_added_listed_changed_and_removed(settings, store):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    patient = new_patient(store)
    added = _run(
        settings,
        "users",
        "add",
        name,
        "--role",
        "patient",
        "--patient",
        patient,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    user = find_user(store.database, name)
    assert user is not None and user.patient_id == patient and user.password_hash != PASSWORD
    assert name in _run(settings, "users", "list").output
    assert _run(settings, "users", "passwd", name, "--password", "another long one").exit_code == 0
    assert find_user(store.database, name).password_hash != user.password_hash
    assert _run(settings, "users", "disable", name).exit_code == 0
    assert find_user(store.database, name).active is False
    assert _run(settings, "users", "remove", name).exit_code == 0
    assert find_user(store.database, name) is None
    assert _run(settings, "users", "remove", name).exit_code == 1


def test_bad_users_are_refused_with_a_reason(settings, store):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    unknown = _run(
        settings,
        "users",
        "add",
        name,
        "--role",
        "patient",
        "--patient",
        "nope",
        "--password",
        PASSWORD,
    )
    assert unknown.exit_code == 1 and "not known" in unknown.output
    short = _run(settings, "users", "add", name, "--role", "staff", "--password", "short")
    assert short.exit_code == 1 and "at least" in short.output
    role = _run(settings, "users", "add", name, "--role", "king", "--password", PASSWORD)
    assert role.exit_code == 1 and "role" in role.output


def test_a_confidential_clients_secret_is_printed_once_and_works(settings, store, secured):
    client_id = f"cli-{uuid.uuid4().hex[:8]}"
    added = _run(
        settings,
        "clients",
        "add",
        client_id,
        "--kind",
        "confidential",
        "--scope",
        "patient/*.rs",
        "--redirect-uri",
        "https://app.example.org/callback",
        "--redirect-uri",
        "https://app.example.org/other",
    )
    assert added.exit_code == 0, added.output
    secret = added.output.split("client_secret: ")[1].split()[0]
    assert client_id in _run(settings, "clients", "list").output
    username = f"cli-{uuid.uuid4().hex[:8]}"
    _run(settings, "users", "add", username, "--role", "staff", "--password", PASSWORD)
    flow = Authorization(
        secured, client_id, scope="patient/*.rs", redirect_uri="https://app.example.org/other"
    )
    consent = flow.sign_in(username)
    assert consent.status_code == 303  # staff without a launch: no patient scope to offer
    assert "invalid_scope" in consent.headers["location"]
    answer = httpx.post(
        f"{secured.url}/auth/introspect", data={"token": "x"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200 and answer.json() == {"active": False}
    assert _run(settings, "clients", "remove", client_id).exit_code == 0
    assert (
        httpx.post(
            f"{secured.url}/auth/introspect", data={"token": "x"}, auth=(client_id, secret)
        ).status_code
        == 401
    )


def test_a_backend_client_is_registered_with_a_jwks_file(settings, tmp_path):
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(public_jwks(rsa_key())))
    client_id = f"cli-{uuid.uuid4().hex[:8]}"
    added = _run(
        settings,
        "clients",
        "add",
        client_id,
        "--kind",
        "backend",
        "--scope",
        "system/*.rs",
        "--jwks",
        str(keys),
    )
    assert added.exit_code == 0, added.output
    assert "client_secret" not in added.output


def test_keys_rotate_and_list(settings):
    rotated = _run(settings, "keys", "rotate")
    assert rotated.exit_code == 0
    kid = rotated.output.split()[-1]
    listing = _run(settings, "keys", "list").output
    assert kid in listing and "signing" in listing
