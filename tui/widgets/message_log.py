"""The live message log: newest at the bottom, bounded, pausable, filterable."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import RichLog

from services.filters import MessageFilter
from services.payload import one_line
from services.store import Message

from ..text import clock, safe


class MessageLog(RichLog):
    def __init__(self, max_lines: int = 1000, *, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, wrap=False, markup=False, highlight=False, id=id)
        self.filter = MessageFilter("")
        self.paused = False
        self.missed = 0  # arrived while paused or beyond what one tick shows

    def add(self, messages: Iterable[Message], skipped: int = 0) -> None:
        if self.paused:
            self.missed += skipped + sum(1 for _ in messages)
            self._retitle()
            return
        if skipped:
            self.write(Text(f"… {skipped:,} more messages arrived (shown in the tree)", "dim"))
        for m in messages:
            if self.filter.matches(m.topic, m.payload):
                self.write(self.line(m))

    def show(self, messages: Iterable[Message]) -> None:
        """Replace the content (a new filter, or resuming after a pause)."""
        self.clear()
        self.missed = 0
        self.add(messages)
        self._retitle()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.missed = 0
        self._retitle()

    def _retitle(self) -> None:
        parts = []
        if self.filter:
            parts.append(f"filter: {self.filter.text}")
        if self.paused:
            parts.append(f"paused — {self.missed:,} new")
        self.border_title = "log" + ("  ·  " + "  ·  ".join(parts) if parts else "")

    @staticmethod
    def line(m: Message) -> Text:
        flags = f"q{m.qos}" + (" R" if m.retain else "  ")
        return Text.assemble(
            (clock(m.ts), "dim"),
            " ",
            (flags, "yellow" if m.retain else "dim"),
            " ",
            safe(m.topic, "bold cyan"),
            "  ",
            safe(one_line(m.payload, 160)),
            no_wrap=True,
            end="",
        )
