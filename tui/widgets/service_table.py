"""The service checks as a table: state, name, why, since — updated by diff."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from services.health import ServiceStatus

from .device_table import ago

COLUMNS = ("state", "service", "why", "since")
STATE_STYLE = {
    "up": ("● up", "bold green"),
    "degraded": ("◐ degraded", "bold yellow"),
    "down": ("✖ down", "bold red"),
    "unknown": ("? unknown", "dim"),
}


class ServiceTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for name in COLUMNS:
            self.add_column(name, key=name)

    def sync(self, statuses: list[ServiceStatus], now: float) -> None:
        """Rows by service name; only cells whose text changed are touched."""
        wanted = {s.name for s in statuses}
        for key in [k.value for k in self.rows if k.value not in wanted]:
            self.remove_row(key)
        for s in statuses:
            label, style = STATE_STYLE[s.state]
            cells = {
                "state": Text(label, style=style),
                "service": Text(s.name, style="bold"),
                "why": Text(
                    s.why + (f" · {s.detail['node_red']}" if "node_red" in s.detail else "")
                ),
                "since": ago(now - s.since),
            }
            if s.name not in {k.value for k in self.rows}:
                self.add_row(*cells.values(), key=s.name)
                continue
            for column, value in cells.items():
                if str(self.get_cell(s.name, column)) != str(value):
                    self.update_cell(s.name, column, value, update_width=True)
