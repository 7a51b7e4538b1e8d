"""The payload pane: the selected topic's last message, shown literally."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from services.payload import literal, preview
from services.store import Message

from ..text import clock, safe


def describe_properties(props: object) -> list[tuple[str, str]]:
    """MQTT 5 properties of a message as (name, value) pairs."""
    if props is None or not hasattr(props, "json"):
        return []
    try:
        items = props.json().items()  # type: ignore[attr-defined]
    except Exception:
        return []
    return [(name, str(value)) for name, value in items]


class PayloadView(VerticalScroll):
    def __init__(self, max_preview: int = 65536, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_preview = max_preview
        self.shown_seq: int | None = None
        self.message: Message | None = None

    def compose(self):
        yield Static(Text("Select a topic in the tree.", "dim"), id="payload-meta")
        yield Static("", id="payload-body")

    def show(self, message: Message | None, count: int = 0) -> None:
        if message is not None and message.seq == self.shown_seq:
            return
        self.message = message
        self.shown_seq = message.seq if message else None
        meta = self.query_one("#payload-meta", Static)
        body = self.query_one("#payload-body", Static)
        if message is None:
            meta.update(Text("Select a topic in the tree.", "dim"))
            body.update("")
            return
        p = preview(message.payload, self.max_preview)
        head = Text(no_wrap=False)
        head.append_text(safe(message.topic, "bold cyan"))
        head.append("\n")
        head.append(
            f"{len(message.payload):,} bytes · {p.kind} · QoS {message.qos}"
            f" · {'retained' if message.retain else 'live'} · {clock(message.ts)}"
            f" · {count:,} msgs",
            style="dim",
        )
        if p.truncated:
            head.append(
                f"\n── cut at {self.max_preview:,} of {len(message.payload):,} bytes "
                "(ui.max_payload_preview) ──",
                style="bold yellow",
            )
        for name, value in describe_properties(message.properties):
            head.append("\n")
            head.append(f"{literal(name)}: ", style="yellow")
            head.append(literal(value))
        meta.update(head)
        if p.syntax == "json":
            content = Syntax(p.body, "json", theme="ansi_dark", word_wrap=True)
        else:
            content = Text(p.body)
        if p.truncated:
            content = Group(content, Text("── cut ──", style="bold yellow"))
        body.update(content)
