"""Listings of the CLI: a table on a terminal, tab-separated lines when piped (for scripts)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def print_rows(console: Console, header: list[str], rows: list[list[str]]) -> None:
    if not console.is_terminal:
        for row in [header, *rows]:
            typer.echo("\t".join(row))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    console.print(table)
