"""A small chart of the numeric history of the selected topic."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from services.payload import literal, number_in


class ValueChart(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="chart-label")
        yield Sparkline([], id="chart-line")

    def show(self, history: list[tuple[float, bytes]]) -> None:
        values: list[float] = []
        field = ""
        for _ts, payload in history:
            found = number_in(payload)
            if found is not None:
                values.append(found[0])
                field = found[1]
        label = self.query_one("#chart-label", Static)
        line = self.query_one("#chart-line", Sparkline)
        if not values:
            label.update(Text("no numeric values to chart", "dim"))
            line.data = []
            line.display = False
            return
        name = literal(field) or "value"
        label.update(
            Text.assemble(
                (name, "bold"),
                f"  last {values[-1]:g}  min {min(values):g}  max {max(values):g}",
                (f"  ({len(values)} points)", "dim"),
            )
        )
        line.data = values
        line.display = True
