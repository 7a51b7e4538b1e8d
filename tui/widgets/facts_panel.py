"""A titled panel of facts: one label and one value a line."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

Fact = tuple[str, Text | str]


class FactsPanel(Static):
    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="facts")
        self.border_title = title
        self._shown: list[Fact] | None = None

    def show(self, facts: list[Fact], note: Text | None = None) -> None:
        if facts == self._shown and note is None:
            return
        self._shown = facts
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in facts:
            grid.add_row(label, value)
        if note is not None:
            grid.add_row("", "")
            grid.add_row("", note)
        self.update(grid)
