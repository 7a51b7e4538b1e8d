"""`?`: the keys and what the header says."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("1", "Traffic: topic tree, payload, chart, live log"),
    ("2", "Devices: the boards, whatever firmware (enter: details and commands)"),
    ("3", "Camera: live preview, other cameras' last frames, captures"),
    ("4", "Services: mosquitto, Node-RED, the Pi, tunnels (r: probe now)"),
    ("t", "tunnels: enter starts / stops, o shows the URL as a QR code, i installs ngrok"),
    ("v", "Traffic: view the selected topic's image payload"),
    ("p", "publish (the topic is prefilled with the selected one)"),
    ("c", "capture a still now: written to camera.capture_dir, published on MQTT"),
    ("/", "filter the log: an MQTT filter (sensors/#, devices/+/status) or text; esc clears"),
    ("space", "pause / resume the live log"),
    (
        "delete",
        "Traffic: clear the selected topic's retained message; Devices: forget the "
        "device (both ask first)",
    ),
    ("s", "Devices: sort by state, name, last seen, signal"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
    ("q", "quit"),
]

PUBLISH_KEYS = [
    ("tab / shift+tab", "move between topic, payload, QoS and retain"),
    ("enter / ctrl+s", "enter in the topic field, or ctrl+s anywhere, publishes"),
    ("↑ ↓", "in the topic field: earlier publishes, with their payload"),
    ("f1 … f9", "fill in a preset from [[publish.preset]]"),
    ("esc", "close"),
]

NOTES = """\
QoS 1 and 2 messages published while the broker is away are kept and sent on reconnect;
the result says "delivered" once the broker has acknowledged them.

The header shows the broker address ("embedded broker" when picentral started its own),
the connection state (connected / reconnecting in N s / error and why), the messages
received since start and the current rate.

Everything from the network is shown literally: markup, escape sequences and control
characters appear as text (\\x1b), never styled."""


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None, expand=True)
    table.add_column("key", style="bold cyan", no_wrap=True, width=16)
    table.add_column("does")
    for key, does in rows:
        table.add_row(key, does)
    return table


class HelpModal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(
                Group(
                    Text("picentral — keys\n", style="bold reverse"),
                    _table("Everywhere", KEYS),
                    Text(""),
                    _table("In the publish dialog", PUBLISH_KEYS),
                    Text(""),
                    Text(NOTES, style="dim"),
                )
            )
