"""``pacsbridge users``, ``clients`` and ``keys``: who may sign in, which apps, which keys.

Works on the database directly, beside a running server or without one: a new user can
sign in at once, a removed client is refused at its next request, and a rotated key
signs from the next token on (every server process reloads the ring within 30 seconds;
tokens signed with the older key stay valid until they expire).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pacsbridge.cli_database import open_migrated
from pacsbridge.cli_table import print_rows
from pacsbridge.config import Settings

users_app = typer.Typer(help="People who sign in: admin, staff, patient.", no_args_is_help=True)
clients_app = typer.Typer(help="Apps and services allowed to ask for tokens (OAuth clients).",
                          no_args_is_help=True)  # fmt: skip
keys_app = typer.Typer(help="The keys that sign our tokens.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # paths and commands whole, never cut


def _database(ctx: typer.Context):  # noqa: ANN202 - a Database; imported late for a fast --help
    settings: Settings = ctx.obj
    return open_migrated(settings)


def _fail(text: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {text}", markup=True, highlight=False)
    return typer.Exit(1)


def _password(given: str | None, from_stdin: bool) -> str:
    from pacsbridge.auth.passwords import check_password_rules
    from pacsbridge.errors import BadValue

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif given is not None:
        password = given
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_rules(password)
    except BadValue as exc:
        raise _fail(exc.text) from exc
    return password


PasswordOption = Annotated[
    str | None, typer.Option("--password", help="the password (visible in the shell history)")
]
StdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


@users_app.command("add")
def add_user(
    ctx: typer.Context,
    username: str,
    role: Annotated[str, typer.Option(help="admin | staff | patient")],
    password: PasswordOption = None,
    password_stdin: StdinOption = False,
    patient: Annotated[str | None, typer.Option(help="a patient user's Patient id")] = None,
    fhir_user: Annotated[
        str | None, typer.Option(help="the user's FHIR resource, e.g. Practitioner/123")
    ] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
) -> None:
    """Add a user; without --password it is asked for (twice)."""
    from pacsbridge.auth.passwords import hash_secret
    from pacsbridge.errors import PacsbridgeError
    from pacsbridge.store import users

    database = _database(ctx)
    patient = patient.removeprefix("Patient/") if patient else None
    if patient and not users.patient_exists(database, patient):
        raise _fail(f"Patient/{patient} is not known here: create or import the patient first")
    secret = _password(password, password_stdin)
    try:
        users.add_user(database, username=username, password_hash=hash_secret(secret), role=role,
                       patient_id=patient, fhir_user=fhir_user, display_name=name)  # fmt: skip
    except PacsbridgeError as exc:
        raise _fail(exc.text) from exc
    typer.echo(f"user {username} added ({role}{f', Patient/{patient}' if patient else ''})")


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users (never their passwords)."""
    from pacsbridge.store.users import list_users as every_user

    rows = [[u.username, u.role, u.fhir_user_reference or "", u.display_name or "",
             "yes" if u.active else "no", u.created_at.strftime("%Y-%m-%d %H:%M")]
            for u in every_user(_database(ctx))]  # fmt: skip
    print_rows(out, ["username", "role", "FHIR user", "name", "active", "created (UTC)"], rows)


@users_app.command("passwd")
def change_password(
    ctx: typer.Context,
    username: str,
    password: PasswordOption = None,
    password_stdin: StdinOption = False,
) -> None:
    """Set a new password (tokens already issued stay valid until they expire)."""
    from pacsbridge.auth.passwords import hash_secret
    from pacsbridge.store.users import change_user, clear_failures

    database = _database(ctx)
    secret = _password(password, password_stdin)
    if not change_user(database, username, password_hash=hash_secret(secret)):
        raise _fail(f"no user {username}; `pacsbridge users list` shows them")
    clear_failures(database, username)
    typer.echo(f"password of {username} changed")


def _set_active(ctx: typer.Context, username: str, active: bool) -> None:
    from pacsbridge.store.users import change_user

    if not change_user(_database(ctx), username, active=active):
        raise _fail(f"no user {username}; `pacsbridge users list` shows them")
    typer.echo(f"user {username} {'enabled' if active else 'disabled'}")


@users_app.command("disable")
def disable_user(ctx: typer.Context, username: str) -> None:
    """Stop a user signing in and refreshing tokens (kept for the audit trail)."""
    _set_active(ctx, username, False)


@users_app.command("enable")
def enable_user(ctx: typer.Context, username: str) -> None:
    """Let a disabled user sign in again."""
    _set_active(ctx, username, True)


@users_app.command("unlock")
def unlock_user(ctx: typer.Context, username: str) -> None:
    """Forget the wrong passwords of a username, ending its lock."""
    from pacsbridge.store.users import clear_failures

    clear_failures(_database(ctx), username)
    typer.echo(f"sign-in for {username} unlocked")


@users_app.command("remove")
def remove_user(ctx: typer.Context, username: str) -> None:
    """Delete a user; its refresh tokens stop working."""
    from pacsbridge.store.users import remove_user as delete

    if not delete(_database(ctx), username):
        raise _fail(f"no user {username}; `pacsbridge users list` shows them")
    typer.echo(f"user {username} removed")


@clients_app.command("add")
def add_client(
    ctx: typer.Context,
    client_id: str,
    kind: Annotated[str, typer.Option(help="public | confidential | backend")],
    scope: Annotated[str, typer.Option(help='the most it may get, e.g. "patient/*.rs openid"')],
    name: Annotated[str | None, typer.Option(help="shown on the consent page")] = None,
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="exact redirect URI (repeatable)")
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option(help="a file with the client's public JWK Set", exists=True)
    ] = None,
    jwks_url: Annotated[str | None, typer.Option(help="where the client publishes it")] = None,
) -> None:
    """Register a client; a confidential client's secret is printed this once."""
    from pacsbridge.auth.registration import register_client
    from pacsbridge.errors import PacsbridgeError

    try:
        client, secret = register_client(
            _database(ctx), client_id=client_id, name=name or client_id, kind=kind, scope=scope,
            redirect_uris=redirect_uri or [], jwks_url=jwks_url,
            jwks=jwks.read_text(encoding="utf-8") if jwks else None,
        )  # fmt: skip
    except PacsbridgeError as exc:
        raise _fail(exc.text) from exc
    typer.echo(f"client {client.client_id} registered ({client.kind})")
    if secret:
        typer.echo(f"client_secret: {secret}")
        err.print("Store the secret now: it is kept only as a hash and cannot be shown again.")


@clients_app.command("list")
def list_clients(ctx: typer.Context) -> None:
    """List registered clients."""
    from pacsbridge.store.clients import list_clients as every_client

    rows = [[c.client_id, c.kind, c.name, " ".join(c.redirect_uris), c.scope,
             "jwks" if c.jwks else (c.jwks_url or "")]
            for c in every_client(_database(ctx))]  # fmt: skip
    print_rows(out, ["client_id", "kind", "name", "redirect URIs", "scope", "keys"], rows)


@clients_app.command("remove")
def remove_client(ctx: typer.Context, client_id: str) -> None:
    """Remove a client: its refresh tokens and assertions are refused from now on."""
    from pacsbridge.store.clients import remove_client as delete

    if not delete(_database(ctx), client_id):
        raise _fail(f"no client {client_id}; `pacsbridge clients list` shows them")
    typer.echo(f"client {client_id} removed")


@keys_app.command("rotate")
def rotate_key(ctx: typer.Context) -> None:
    """Make a new signing key; older keys keep verifying the tokens they signed."""
    from pacsbridge.auth.keys import rotate

    typer.echo(f"new signing key {rotate(_database(ctx))}")


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List signing keys, newest first (public information only)."""
    from pacsbridge.store.signing_keys import load_keys

    rows = [[k.kid, k.alg, k.created_at.strftime("%Y-%m-%d %H:%M"),
             k.retired_at.strftime("%Y-%m-%d %H:%M") if k.retired_at else "signing"]
            for k in load_keys(_database(ctx))]  # fmt: skip
    print_rows(out, ["kid", "alg", "created (UTC)", "retired (UTC)"], rows)
