"""The ``pacsbridge`` command: ``serve`` to run, other verbs to administer.

Every error leaves as one readable line that says what to do, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from pacsbridge import __version__
from pacsbridge.cli_auth import clients_app, keys_app, users_app
from pacsbridge.cli_database import database_errors, open_migrated, open_store
from pacsbridge.cli_demo import demo
from pacsbridge.cli_hl7 import messages_app, send
from pacsbridge.cli_outbox import outbox_app
from pacsbridge.cli_ports import port_flags, port_problem
from pacsbridge.config import ConfigError, Settings, load_settings

RUN, HL7, SETUP, ACCESS = "Run it", "HL7 messages", "Set-up and upkeep", "Who may do what"
app = typer.Typer(
    help="pacsbridge: HL7 v2, FHIR R4 and DICOM for an imaging department, around one store.",
    epilog=(
        "[bold]Start here:[/bold]\n\n"
        "1. [cyan]make run[/cyan] (or [cyan]pacsbridge serve --destination "
        "DEMO-HIS=127.0.0.1:2576[/cyan]) runs the server on SQLite in ./data: HTTP on 8080 "
        "(FHIR at /fhir/R4, DICOMweb at /dicomweb), HL7 MLLP on 2575, DICOM AE PACSBRIDGE "
        "on 11112.\n\n"
        "2. In another terminal, [cyan]pacsbridge demo[/cyan] plays an order, an exam and a "
        "report through it.\n\n"
        "3. Open [cyan]http://localhost:8080/[/cyan], the console, to see what happened.\n\n"
        "[cyan]pacsbridge COMMAND --help[/cyan] tells more; docs/ has the details."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
viewer_app = typer.Typer(help="The OHIF image viewer served at /viewer.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)  # paths and commands whole, never cut

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="pacsbridge.toml", exists=False)
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="SQLite database and DICOM files [./data]")
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="sqlite:///FILE or postgresql://USER@HOST/DB"),
]


def _settings(config: Path | None, **flags: object) -> Settings:
    try:
        return load_settings(config, **flags)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        err.print("Fix the value (see `pacsbridge serve --help`) and start again.")
        raise typer.Exit(2) from exc


def serve(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on [0.0.0.0]")] = None,
    http_port: Annotated[int | None, typer.Option(help="FHIR, metrics, health [8080]")] = None,
    mllp_port: Annotated[int | None, typer.Option(help="HL7 v2 MLLP [2575]")] = None,
    dicom_port: Annotated[int | None, typer.Option(help="DICOM [11112]")] = None,
    ae_title: Annotated[str | None, typer.Option(help="our DICOM AE title [PACSBRIDGE]")] = None,
    base_url: Annotated[str | None, typer.Option(help="public URL, for links")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug|info|warning|error")] = None,
    log_format: Annotated[str | None, typer.Option(help="console|json")] = None,
    destination: Annotated[
        list[str] | None,
        typer.Option(help="NAME=HOST:PORT: send reports and order status there (repeatable)"),
    ] = None,
    auth: Annotated[
        str | None,
        typer.Option(
            help="open (trusted network, no login) | required (tokens and logins) \\[open]"
        ),
    ] = None,
) -> None:
    """Run the server: every listener in one process, until Ctrl-C."""
    settings = _settings(
        config, data_dir=data_dir, database_url=database_url, host=host, http_port=http_port,
        mllp_port=mllp_port, dicom_port=dicom_port, ae_title=ae_title, base_url=base_url,
        log_level=log_level, log_format=log_format, auth=auth,
    )  # fmt: skip
    if destination:
        settings = _with_destinations(settings, destination)
    from pacsbridge.app import serve as run

    problem = port_problem(settings)
    if problem is not None:
        err.print(f"[red]error:[/red] {problem}", highlight=False)
        raise typer.Exit(1)
    try:
        with database_errors(settings):
            run(settings)
    except OSError as exc:
        ports = ", ".join(f"{flag} {port}" for flag, port in port_flags(settings))
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        err.print(f"Is another program using one of its ports ({ports})? Stop it, or choose "
                  "other ports with those flags.", markup=False)  # fmt: skip
        raise typer.Exit(1) from exc


def _with_destinations(settings: Settings, flags: list[str]) -> Settings:
    from pydantic import ValidationError

    from pacsbridge.profiles.destination import parse_destination_flag

    try:
        added = [parse_destination_flag(flag) for flag in flags]
        every = [*settings.destinations, *added]
        return Settings.model_validate({**settings.model_dump(), "destinations": every})
    except (ValueError, ValidationError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Migrate the database to this version's schema (serve does it too)."""
    from pacsbridge.store.migrate import current_revision

    settings = _settings(config, data_dir=data_dir, database_url=database_url)
    database = open_migrated(settings)
    typer.echo(f"database at revision {current_revision(database)}")


def reindex(
    config: ConfigOption = None, data_dir: DataDirOption = None, database_url: DatabaseOption = None
) -> None:
    """Rebuild the search index of every resource, e.g. after adding a search parameter."""
    from pacsbridge.store.reindex import reindex_all

    settings = _settings(config, data_dir=data_dir, database_url=database_url)
    store = open_store(settings)
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=err) as progress:
        task = progress.add_task("reindexing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        with database_errors(settings):
            count = reindex_all(store, on_progress=advance)
    typer.echo(f"reindexed {count} resources")


@viewer_app.command("install")
def viewer_install(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    tarball: Annotated[
        Path | None, typer.Option(help="a file from `npm pack @ohif/app@VERSION` (no npm run)")
    ] = None,
    version: Annotated[str | None, typer.Option(help="OHIF version to fetch with npm")] = None,
) -> None:
    """Install (or replace) the OHIF viewer in the data dir; serve shows it at /viewer."""
    from pacsbridge.viewer import OHIF_VERSION, ViewerInstallError, install_viewer

    settings = _settings(config, data_dir=data_dir)
    with err.status(f"installing OHIF {version or OHIF_VERSION} into {settings.data_dir}"):
        try:
            where = install_viewer(settings.data_dir, tarball, version or OHIF_VERSION)
        except ViewerInstallError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
    typer.echo(f"viewer installed in {where}; open http://localhost:{settings.http_port}/viewer/")


@outbox_app.callback()
@messages_app.callback()
@users_app.callback()
@clients_app.callback()
@keys_app.callback()
def _which_database(
    ctx: typer.Context,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Which database to work on (the same options as serve)."""
    ctx.obj = _settings(config, data_dir=data_dir, database_url=database_url)


def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# The command table, grouped and in the order `pacsbridge --help` shows it.
app.command(rich_help_panel=RUN)(serve)
app.command(rich_help_panel=RUN)(demo)
app.command(rich_help_panel=HL7)(send)
app.add_typer(messages_app, name="messages", rich_help_panel=HL7)
app.add_typer(outbox_app, name="outbox", rich_help_panel=HL7)
app.command(rich_help_panel=SETUP)(reindex)
app.add_typer(db_app, name="db", rich_help_panel=SETUP)
app.add_typer(viewer_app, name="viewer", rich_help_panel=SETUP)
app.command(rich_help_panel=SETUP)(version)
app.add_typer(users_app, name="users", rich_help_panel=ACCESS)
app.add_typer(clients_app, name="clients", rich_help_panel=ACCESS)
app.add_typer(keys_app, name="keys", rich_help_panel=ACCESS)


def main() -> None:
    app()
