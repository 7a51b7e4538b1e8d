"""The tunnels of `[[tunnels.endpoint]]`: state (a spinner while starting) and public URL."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from services.tunnels import TunnelState

COLUMNS = ("tunnel", "proto", "local", "state", "public URL")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STATE_STYLE = {
    "stopped": "dim",
    "starting": "bold yellow",
    "online": "bold green",
    "error": "bold red",
}


def state_text(t: TunnelState, frame: int) -> Text:
    label = t.state
    if t.state == "starting":
        label = f"{SPINNER[frame % len(SPINNER)]} starting"
    elif t.state == "online":
        label = "● online"
    elif t.state == "error":
        label = "✖ error"
    return Text(label, style=STATE_STYLE[t.state])


class TunnelTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        for name in COLUMNS:
            self.add_column(name, key=name)

    def sync(self, tunnels: list[TunnelState], frame: int = 0) -> None:
        known = {k.value for k in self.rows}
        for t in tunnels:
            cells = {
                "tunnel": Text(t.name, style="bold"),
                "proto": t.proto,
                "local": t.addr,
                "state": state_text(t, frame),
                "public URL": Text(t.public_url, style="bold cyan") if t.public_url else "",
            }
            if t.name not in known:
                self.add_row(*cells.values(), key=t.name)
                continue
            for column, value in cells.items():
                if str(self.get_cell(t.name, column)) != str(value):
                    self.update_cell(t.name, column, value, update_width=True)

    @property
    def selected(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value
