"""How the demo talks: numbered steps, what was sent, what came back, for a person watching.

Each step is a numbered line; under it ``→`` is what the demo sent and ``←`` the answer
(green when it is the one hoped for); messages the simulated HIS receives are shown as
they arrive, whatever step the demo is at, because that is when pacsbridge sends them.
"""

from __future__ import annotations

from rich.console import Console

from pacsbridge.demo.his import Received

ORDER_STATUS = {"IP": "in progress", "CM": "completed", "DC": "discontinued", "A": "images"}
RESULT_STATUS = {"P": "preliminary", "F": "final", "C": "corrected", "X": "withdrawn"}


class Narrator:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.number = 0

    def title(self, text: str) -> None:
        self.console.rule(f"[bold]{text}")

    def step(self, text: str) -> None:
        self.number += 1
        self.console.print(f"\n[bold cyan]{self.number:>2}.[/] [bold]{text}[/]")

    def sent(self, text: str) -> None:
        self.console.print(f"    [blue]→[/] {text}", highlight=False)

    def answer(self, ok: bool, text: str) -> None:
        colour = "green" if ok else "red"
        self.console.print(f"    [{colour}]← {text}[/]", highlight=False)

    def note(self, text: str) -> None:
        self.console.print(f"      [dim]{text}[/]", highlight=False)

    def message(self, text: str) -> None:
        """A whole HL7 message, one segment a line, exactly as it travelled."""
        for line in text.strip().splitlines():
            self.console.print(f"      {line}", style="dim", markup=False, highlight=False)

    def his_received(self, received: Received) -> None:
        self.console.print(f"    [magenta]⇢ HIS received {received.kind}[/] {describe(received)}"
                           f" [dim](MSH-10 {received.message.control_id}), answered AA[/]",
                           highlight=False)  # fmt: skip

    def links(self, rows: list[tuple[str, str]]) -> None:
        """Where to look next; URLs whole on their line, so a terminal can open them."""
        self.console.print("\n[bold]Now look at it[/] (the console shows what just happened):")
        width = max(len(what) for what, _ in rows)
        for what, url in rows:
            self.console.print(f"  {what:<{width}}  [link={url}]{url}[/link]", highlight=False,
                               soft_wrap=True)  # fmt: skip

    def failure(self, text: str, hint: str) -> None:
        self.console.print(f"\n[bold red]The demo stopped:[/] {text}", highlight=False)
        self.console.print(f"[bold]What to do:[/] {hint}", highlight=False)


def describe(received: Received) -> str:
    """The few fields that tell what a message pacsbridge sent is about."""
    order = received.get("ORC.2") or received.get("OBR.2")
    if received.message.message_code in ("ORM", "OMI"):
        status = received.get("ORC.5")
        meaning = ORDER_STATUS.get(status, status)
        return f"order {order}: ORC-1 {received.get('ORC.1')}, ORC-5 {status} ({meaning})"
    if received.message.message_code == "ORU":
        status = received.get("OBR.25")
        return f"report for order {order}: OBR-25 {status} ({RESULT_STATUS.get(status, status)})"
    return ""
