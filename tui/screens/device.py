"""Enter on a device: its topics and last values, its telemetry, and a command box."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from services.devices import Device, device_topics
from services.payload import literal, one_line
from services.topics import topic_problem

from ..widgets.device_table import ago, duration


class DeviceModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, device: Device, hub) -> None:
        super().__init__()
        self.device = device
        self.hub = hub

    def compose(self) -> ComposeResult:
        d = self.device
        with Vertical(classes="dialog", id="device-dialog") as dialog:
            dialog.border_title = f"{literal(d.id)} · {d.convention} · {d.state}"
            yield Static(self._summary(), id="device-summary")
            with VerticalScroll(id="device-topics"):
                yield Static(self._topics())
            with Horizontal(id="device-command"):
                yield Input(
                    d.command_topics[0] if d.command_topics else "",
                    placeholder="command topic",
                    id="command-topic",
                )
                yield Input(placeholder="payload, enter sends", id="command-payload")
            yield Static("", id="command-result")
            yield Static("enter sends the command · esc closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#command-payload", Input).focus()

    def _summary(self) -> Text:
        d = self.device
        now = self.hub.devices.now()
        parts = [
            ("seen", ago(now - d.last_seen)),
            ("name", d.name),
            ("ip", d.ip),
            ("rssi", "" if d.rssi is None else f"{d.rssi} dBm"),
            ("uptime", duration(d.uptime)),
            ("heap", "" if d.heap is None else f"{d.heap:,}"),
            ("fw", d.fw),
            ("msg/min", str(d.msgs_per_minute(now))),
        ]
        text = Text()
        for label, value in parts:
            if value:
                text.append(f"{label} ", style="dim")
                text.append(literal(value) + "   ")
        if d.note:
            text.append("\n! ", style="bold yellow")
            text.append(literal(d.note), style="yellow")
        if d.command_topics:
            text.append("\ncommands: ", style="dim")
            text.append(", ".join(literal(t) for t in d.command_topics))
        return text

    def _topics(self) -> Table:
        store = self.hub.store
        table = Table(box=None, expand=True, show_header=True, header_style="dim")
        table.add_column("topic", style="cyan", no_wrap=True, ratio=2)
        table.add_column("last value", no_wrap=True, ratio=3)
        for topic in device_topics(self.device, store.topics()):
            last = store.last(topic)
            if last is not None:
                table.add_row(Text(literal(topic)), Text(one_line(last.payload, 100)))
        return table

    @on(Input.Submitted)
    def send(self) -> None:
        topic = self.query_one("#command-topic", Input).value
        payload = self.query_one("#command-payload", Input).value
        result = self.query_one("#command-result", Static)
        problem = topic_problem(topic)
        if problem:
            result.update(Text(f"✖ {problem}", "bold red"))
            return
        r = self.hub.mqtt.publish(topic, payload, qos=1)
        if r.outcome == "failed":
            result.update(Text(f"✖ {literal(r.detail)}", "bold red"))
        else:
            result.update(Text(f"✔ {r.outcome}: {literal(topic)} ← {literal(payload)}", "green"))
