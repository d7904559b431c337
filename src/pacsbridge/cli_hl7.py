"""CLI verbs for HL7 v2: ``send`` files over MLLP, and browse or reprocess the message log."""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.tree import Tree

from pacsbridge.cli_table import print_rows
from pacsbridge.config import Settings

if TYPE_CHECKING:
    from pacsbridge.store import Store
    from pacsbridge.store.message_log import LoggedMessage

messages_app = typer.Typer(help="Browse, search and reprocess logged HL7 messages.",
                           no_args_is_help=True)  # fmt: skip
out = Console()
err = Console(stderr=True, soft_wrap=True)  # paths and commands whole, never cut


def send(
    files: Annotated[list[Path], typer.Argument(help="HL7 files (one message or a batch each)")],
    to: Annotated[str, typer.Option("--to", help="HOST:PORT of the MLLP listener")],
    tls: Annotated[bool, typer.Option(help="use TLS")] = False,
    ca: Annotated[Path | None, typer.Option(help="CA file to check the server with")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each ACK")] = 30.0,
) -> None:
    """Send HL7 files over MLLP and print each ACK; the exit code is 1 if any was not AA/CA."""
    from pacsbridge.hl7v2.client import MllpClient, MllpError

    host, _, port_text = to.rpartition(":")
    if not host or not port_text.isdigit():
        err.print(f"[red]error:[/red] --to must be HOST:PORT, not {to!r}, e.g. localhost:2575")
        raise typer.Exit(2)
    context = None
    if tls:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    payloads = [payload for path in files for payload in _payloads(path)]
    failures = 0
    try:
        with MllpClient(host, int(port_text), timeout=timeout, tls=context) as client, Progress(
            *Progress.get_default_columns(), MofNCompleteColumn(), console=err, transient=True,
            disable=len(payloads) < 5,
        ) as progress:  # fmt: skip
            task = progress.add_task("sending", total=len(payloads))
            for name, payload in payloads:
                ack = client.send(payload)
                ok = ack.code in ("AA", "CA")
                failures += not ok
                colour = "green" if ok else "red"
                out.print(f"{name}: [{colour}]{ack.code}[/{colour}] {ack.control_id} {ack.text}")
                progress.advance(task)
    except ssl.SSLCertVerificationError as exc:
        err.print(f"[red]error:[/red] the certificate of {to} is not trusted: {exc.verify_message}")
        err.print("Pass --ca FILE with the CA that signed it.")
        raise typer.Exit(1) from exc
    except ssl.SSLError as exc:
        err.print(f"[red]error:[/red] TLS with {to} failed: {exc.reason or exc}")
        err.print("Does the listener speak TLS? Drop --tls if it does not.")
        raise typer.Exit(1) from exc
    except (OSError, MllpError) as exc:
        err.print(f"[red]error:[/red] {exc}. Is pacsbridge listening on {to}?")
        err.print("Start it with `pacsbridge serve` (MLLP on 2575 unless --mllp-port says "
                  "otherwise), or check --to.")  # fmt: skip
        raise typer.Exit(1) from exc
    raise typer.Exit(1 if failures else 0)


def _payloads(path: Path) -> list[tuple[str, bytes]]:
    """The messages of one file, each named and encoded in its own character set."""
    from pacsbridge.errors import PacsbridgeError
    from pacsbridge.formats.hl7v2.charsets import decode, encode
    from pacsbridge.formats.hl7v2.parse import split_batch

    try:
        raw = path.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        err.print("Check the path; nothing was sent.")
        raise typer.Exit(2) from exc
    try:
        text, charset = decode(raw)
        parts = split_batch(text)
        encoded = [encode(part.replace("\n", "\r"), charset) for part in parts]
    except PacsbridgeError as exc:
        err.print(f"[red]error:[/red] {path} is not an HL7 v2 message: {exc.text}",
                  markup=True, highlight=False)  # fmt: skip
        err.print("`pacsbridge send` takes HL7 v2 text files that begin with MSH (or a batch "
                  "with FHS/BHS); nothing was sent.")  # fmt: skip
        raise typer.Exit(2) from exc
    if len(encoded) == 1:
        return [(path.name, encoded[0])]
    return [(f"{path.name}#{n}", payload) for n, payload in enumerate(encoded, 1)]


def _store(settings: Settings):  # noqa: ANN202 - a Store; imported late for a fast --help
    from pacsbridge.cli_database import open_store

    return open_store(settings)


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


REPROCESSED = "reprocess of "  # the peer of a log entry that reprocessing made


@messages_app.command("reprocess")
def reprocess_messages(
    ctx: typer.Context,
    pks: Annotated[
        list[int] | None, typer.Argument(help="ids, as `pacsbridge messages list` shows them")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="or every message answered AE, AR...")] = None,
    sender: Annotated[str | None, typer.Option(help="... from this MSH-3 or MSH-4")] = None,
    message_type: Annotated[str | None, typer.Option("--type", help="... of this type")] = None,
    since: Annotated[datetime | None, typer.Option(help="... received since (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="at most this many")] = 1000,
) -> None:
    """Apply logged messages again (after fixing a profile, say); each logs a new entry.

    Name them by id, or choose them with filters, e.g. `--outcome AE --sender HIS`: they are
    applied oldest first, as they came; entries made by an earlier reprocess are left out.
    """
    from pacsbridge.hl7v2.receive import Receiver

    settings: Settings = ctx.obj
    filters = {"outcome": outcome, "sender": sender, "message_type": message_type,
               "since": since}  # fmt: skip
    if not pks and not any(filters.values()):
        err.print("[red]error:[/red] which messages? Give ids, or filters such as --outcome AE "
                  "(`pacsbridge messages reprocess --help`)")  # fmt: skip
        raise typer.Exit(2)
    store = _store(settings)
    items = _chosen(store, pks or [], filters, limit)
    receiver = Receiver(store, settings.partners)
    if len(items) == 1:  # one message: its whole ACK, as before
        ack = receiver.reprocess(items[0].raw, peer=f"{REPROCESSED}{items[0].pk}")
        text = (ack or b"").decode("utf-8", "replace")
        out.print(text.replace("\r", "\n"), markup=False)
        raise typer.Exit(0 if _ack_code(ack) in ("AA", "CA") else 1)
    refused = 0
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=err,
                  transient=True, disable=len(items) < 5) as progress:  # fmt: skip
        task = progress.add_task("reprocessing", total=len(items))
        for item in items:
            ack = receiver.reprocess(item.raw, peer=f"{REPROCESSED}{item.pk}")
            code = _ack_code(ack)
            refused += code not in ("AA", "CA")
            colour = "green" if code in ("AA", "CA") else "red"
            out.print(f"{item.pk} {item.message_type or ''} {item.control_id or ''}: "
                      f"[{colour}]{code or 'no ACK'}[/{colour}]", highlight=False)  # fmt: skip
            progress.advance(task)
    out.print(f"reprocessed {len(items)}: {len(items) - refused} accepted, {refused} not")
    if refused:
        err.print("`pacsbridge messages show ID` shows why a message was not accepted.")
    raise typer.Exit(1 if refused else 0)


def _chosen(store: Store, pks: list[int], filters: dict[str, Any], limit: int
            ) -> list[LoggedMessage]:  # fmt: skip
    """The messages to reprocess, oldest first; an unknown id stops before any is applied."""
    from pacsbridge.store.message_log import get_message, search_messages

    with store.reader() as reader:
        named = [(pk, get_message(reader.connection, pk)) for pk in pks]
        found = [item for _, item in named if item is not None]
        if any(filters.values()):
            matching = search_messages(reader.connection, limit=limit, **filters)
            found += [m for m in matching if not (m.peer or "").startswith(REPROCESSED)]
    missing = [str(pk) for pk, item in named if item is None]
    if missing:
        err.print(f"[red]error:[/red] no message {', '.join(missing)}; nothing was reprocessed. "
                  "`pacsbridge messages list` shows the ids.")  # fmt: skip
        raise typer.Exit(1)
    if not found:
        err.print("[red]error:[/red] no message matches; `pacsbridge messages list` with the "
                  "same filters shows what there is.")  # fmt: skip
        raise typer.Exit(1)
    unique = {item.pk: item for item in found}
    return [unique[pk] for pk in sorted(unique)]


def _ack_code(ack: bytes | None) -> str:
    from pacsbridge.formats.hl7v2.acknowledgement import AckError, read_ack

    try:
        return read_ack(ack).code if ack else ""
    except AckError:
        return ""
