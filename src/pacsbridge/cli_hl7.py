"""CLI verbs for HL7 v2: ``send`` files over MLLP, and browse or reprocess the message log."""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.tree import Tree

from pacsbridge.cli_table import print_rows
from pacsbridge.config import Settings

messages_app = typer.Typer(help="Browse, search and reprocess logged HL7 messages.",
                           no_args_is_help=True)  # fmt: skip
out = Console()
err = Console(stderr=True)


def send(
    files: Annotated[list[Path], typer.Argument(help="HL7 files (one message or a batch each)")],
    to: Annotated[str, typer.Option("--to", help="HOST:PORT of the MLLP listener")],
    tls: Annotated[bool, typer.Option(help="use TLS")] = False,
    ca: Annotated[Path | None, typer.Option(help="CA file to check the server with")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each ACK")] = 30.0,
) -> None:
    """Send HL7 files over MLLP and print each ACK; the exit code is 1 if any was not AA/CA."""
    from pacsbridge.formats.hl7v2.charsets import decode, encode
    from pacsbridge.formats.hl7v2.parse import split_batch
    from pacsbridge.hl7v2.client import MllpClient, MllpError

    host, _, port_text = to.rpartition(":")
    if not host or not port_text.isdigit():
        err.print(f"[red]error:[/red] --to must be HOST:PORT, not {to!r}")
        raise typer.Exit(2)
    context = None
    if tls:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    payloads: list[tuple[str, bytes]] = []
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            err.print(f"[red]error:[/red] cannot read {path}: {exc}")
            raise typer.Exit(2) from exc
        text, charset = decode(raw)
        parts = split_batch(text)
        payloads += [
            (
                f"{path.name}#{n + 1}" if len(parts) > 1 else path.name,
                encode(part.replace("\n", "\r"), charset),
            )
            for n, part in enumerate(parts)
        ]
    failures = 0
    try:
        with MllpClient(host, int(port_text), timeout=timeout, tls=context) as client, Progress(
            console=err, transient=True, disable=len(payloads) < 5
        ) as progress:  # fmt: skip
            task = progress.add_task("sending", total=len(payloads))
            for name, payload in payloads:
                ack = client.send(payload)
                ok = ack.code in ("AA", "CA")
                failures += not ok
                colour = "green" if ok else "red"
                out.print(f"{name}: [{colour}]{ack.code}[/{colour}] {ack.control_id} {ack.text}")
                progress.advance(task)
    except (OSError, MllpError) as exc:
        err.print(f"[red]error:[/red] {exc}. Is pacsbridge listening on {to}?")
        raise typer.Exit(1) from exc
    raise typer.Exit(1 if failures else 0)


def _store(settings: Settings):  # noqa: ANN202 - a Store; imported late for a fast --help
    from pacsbridge.app import build_store

    return build_store(settings)


@messages_app.command("list")
def list_messages(
    ctx: typer.Context,
    sender: Annotated[str | None, typer.Option(help="MSH-3 or MSH-4")] = None,
    message_type: Annotated[str | None, typer.Option("--type", help="ORM or ORM^O01")] = None,
    patient: Annotated[str | None, typer.Option(help="patient ID")] = None,
    accession: Annotated[str | None, typer.Option()] = None,
    control_id: Annotated[str | None, typer.Option("--control-id")] = None,
    outcome: Annotated[str | None, typer.Option(help="AA AE AR CA CE CR")] = None,
    since: Annotated[datetime | None, typer.Option(help="received at or after (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """List logged messages, newest first."""
    from pacsbridge.store.message_log import search_messages

    store = _store(ctx.obj)
    with store.reader() as reader:
        found = search_messages(
            reader.connection, sender=sender, message_type=message_type, patient_id=patient,
            accession=accession, control_id=control_id, outcome=outcome, since=since,
            limit=limit,
        )  # fmt: skip
    header = ["id", "received (UTC)", "sender", "type", "control ID", "patient", "accession",
              "outcome", "error"]  # fmt: skip
    rows = [[str(item.pk), item.received_at.strftime("%Y-%m-%d %H:%M:%S"),
             item.sending_application or "", item.message_type or "", item.control_id or "",
             item.patient_id or "", item.accession or "", item.outcome,
             (item.error or "")[:60]] for item in found]  # fmt: skip
    print_rows(out, header, rows)


@messages_app.command("show")
def show_message(ctx: typer.Context, pk: int) -> None:
    """Show one message: raw, as a tree of segments and fields, its ACK and resources."""
    from pacsbridge.formats.hl7v2.parse import parse_message
    from pacsbridge.store.message_log import get_message

    store = _store(ctx.obj)
    with store.reader() as reader:
        item = get_message(reader.connection, pk)
    if item is None:
        err.print(f"[red]error:[/red] no message {pk}; `pacsbridge messages list` shows the ids")
        raise typer.Exit(1)
    out.print(
        f"[bold]message {item.pk}[/bold] {item.message_type} from "
        f"{item.sending_application}/{item.sending_facility} ({item.peer}): {item.outcome}"
    )
    text = item.raw.decode("utf-8", "replace")
    out.print(text.replace("\r", "\n"), markup=False, highlight=False)
    try:
        message = parse_message(text)
        tree = Tree("segments")
        for segment in message.segments:
            branch = tree.add(segment.name)
            for n in range(1, segment.fields_count + 1):
                if segment.raw_field(n):
                    branch.add(f"{segment.name}-{n}: {segment.raw_field(n)}")
        out.print(tree)
    except Exception as exc:  # a message that never parsed is still worth showing raw
        out.print(f"(not parseable: {exc})")
    if item.ack:
        out.print("[bold]ACK[/bold]")
        out.print(item.ack.decode("utf-8", "replace").replace("\r", "\n"), markup=False)
    for reference in item.resources:
        out.print(f"  touched {reference}")


@messages_app.command("reprocess")
def reprocess_message(ctx: typer.Context, pk: int) -> None:
    """Apply a logged message again (after fixing a profile, say); logs a new entry."""
    from pacsbridge.hl7v2.receive import Receiver
    from pacsbridge.store.message_log import get_message

    settings: Settings = ctx.obj
    store = _store(settings)
    with store.reader() as reader:
        item = get_message(reader.connection, pk)
    if item is None:
        err.print(f"[red]error:[/red] no message {pk}")
        raise typer.Exit(1)
    ack = Receiver(store, settings.partners).reprocess(item.raw, peer=f"reprocess of {pk}")
    text = (ack or b"").decode("utf-8", "replace")
    out.print(text.replace("\r", "\n"), markup=False)
    raise typer.Exit(0 if "|AA|" in text or "|CA|" in text else 1)
