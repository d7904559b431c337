"""``pacsbridge outbox``: list, show, retry and cancel outbound messages; pause destinations.

Works on the database directly, so it runs beside a live server (or without one): a
retried message is picked up by the server's senders at their next look.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pacsbridge.cli_database import open_migrated
from pacsbridge.cli_table import print_rows
from pacsbridge.config import Settings

outbox_app = typer.Typer(help="Outbound HL7: the queue, dead letters, destinations.",
                         no_args_is_help=True)  # fmt: skip
out = Console(soft_wrap=True)  # messages are shown whole, never wrapped
err = Console(stderr=True, soft_wrap=True)  # paths and commands whole, never cut


def _database(ctx: typer.Context):  # noqa: ANN202 - a Database; imported late for a fast --help
    settings: Settings = ctx.obj
    return open_migrated(settings)


@outbox_app.command("list")
def list_outbox(
    ctx: typer.Context,
    destination: Annotated[str | None, typer.Option(help="destination name")] = None,
    status: Annotated[str | None, typer.Option(help="pending sending sent dead cancelled")] = None,
    patient: Annotated[str | None, typer.Option(help="Patient/id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """List outbound messages, newest first."""
    from pacsbridge.store.outbox import list_entries

    with _database(ctx).reader.connect() as connection:
        found = list_entries(connection, destination=destination, status=status,
                             partition_key=patient, limit=limit)  # fmt: skip
    header = ["id", "created (UTC)", "destination", "type", "control ID", "patient", "status",
              "attempts", "ACK", "last error"]  # fmt: skip
    print_rows(out, header, [[str(e.pk), e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.destination,
                          e.message_type, e.control_id, e.partition_key, e.status,
                          str(e.attempts), e.ack_code or "", (e.last_error or "")[:60]]
                         for e in found])  # fmt: skip


@outbox_app.command("show")
def show_outbox(ctx: typer.Context, pk: int) -> None:
    """Show one outbound message with every attempt and the ACK it got."""
    from pacsbridge.store.outbox import get_entry

    with _database(ctx).reader.connect() as connection:
        found = get_entry(connection, pk)
    if found is None:
        err.print(f"[red]error:[/red] no outbound message {pk}; `pacsbridge outbox list` shows ids")
        raise typer.Exit(1)
    entry, attempts = found
    out.print(f"[bold]outbound {entry.pk}[/bold] {entry.message_type} to {entry.destination} "
              f"for {entry.partition_key}: {entry.status} (from {entry.source})")  # fmt: skip
    out.print(entry.payload.decode("latin-1").replace("\r", "\n"), markup=False, highlight=False)
    for attempt in attempts:
        out.print(f"  attempt {attempt.attempt} at {attempt.started_at:%Y-%m-%d %H:%M:%S}: "
                  f"{attempt.outcome} in {attempt.seconds * 1000:.1f} ms "
                  f"{attempt.error or ''}", markup=False)  # fmt: skip
    if entry.ack:
        out.print("[bold]ACK[/bold]")
        out.print(entry.ack.decode("latin-1").replace("\r", "\n"), markup=False)


def _change(ctx: typer.Context, pk: int, verb: str) -> None:
    from pacsbridge.store import outbox
    from pacsbridge.store.resources import utc_now

    action, allowed = outbox.OPERATIONS[verb]
    with _database(ctx).writer.begin() as connection:
        done = action(connection, pk, utc_now())
    if not done:
        err.print(f"[red]error:[/red] message {pk} is not {' or '.join(allowed)}; "
                  "`pacsbridge outbox show` tells its state")  # fmt: skip
        raise typer.Exit(1)
    typer.echo(f"message {pk}: {'queued again' if verb == 'retry' else 'cancelled'}")


@outbox_app.command("retry")
def retry_outbox(ctx: typer.Context, pk: int) -> None:
    """Queue a dead (or cancelled) message again; it goes next for its patient."""
    _change(ctx, pk, "retry")


@outbox_app.command("cancel")
def cancel_outbox(ctx: typer.Context, pk: int) -> None:
    """Give up a waiting or dead message; it will not be sent."""
    _change(ctx, pk, "cancel")


def _pause(ctx: typer.Context, name: str, paused: bool) -> None:
    from pacsbridge.store.outbox import paused_destinations, queue_states, set_paused
    from pacsbridge.store.resources import utc_now

    database = _database(ctx)
    with database.reader.connect() as connection:
        known = ({d.name for d in ctx.obj.destinations} | paused_destinations(connection)
                 | {s.destination for s in queue_states(connection)})  # fmt: skip
    with database.writer.begin() as connection:
        set_paused(connection, name, paused, utc_now())
    typer.echo(f"destination {name}: {'paused' if paused else 'sending'}")
    if name not in known:  # a --destination flag of serve is not seen here: warn, not refuse
        err.print(f"note: no destination {name} is configured or has messages; check the "
                  "name with `pacsbridge outbox status`", highlight=False)  # fmt: skip


@outbox_app.command("pause")
def pause_destination(ctx: typer.Context, name: str) -> None:
    """Stop sending to a destination (messages keep queueing, in order)."""
    _pause(ctx, name, True)


@outbox_app.command("resume")
def resume_destination(ctx: typer.Context, name: str) -> None:
    """Send to a paused destination again."""
    _pause(ctx, name, False)


@outbox_app.command("status")
def outbox_status(ctx: typer.Context) -> None:
    """Per destination: waiting, dead letters, the age of the oldest waiting message."""
    from pacsbridge.store.outbox import paused_destinations, queue_states
    from pacsbridge.store.resources import utc_now

    with _database(ctx).reader.connect() as connection:
        states, paused = queue_states(connection), paused_destinations(connection)
    now = utc_now()
    names = {d.name for d in ctx.obj.destinations} | {s.destination for s in states} | paused
    by_name = {s.destination: s for s in states}
    rows = []
    for name in sorted(names):
        state = by_name.get(name)
        waited = state.waiting_seconds(now) if state else None
        rows.append([name, "paused" if name in paused else "sending",
                     str(state.depth if state else 0), str(state.dead if state else 0),
                     f"{waited:.0f} s" if waited is not None else ""])  # fmt: skip
    print_rows(out, ["destination", "state", "waiting", "dead", "oldest waiting"], rows)
