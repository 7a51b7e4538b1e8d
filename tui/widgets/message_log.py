"""The live message log: newest at the bottom, bounded, pausable, filterable.

A Line-API scroll view over the messages themselves: writing a message costs an append;
only the rows on screen are ever formatted (and cached by message). At a flood of
messages the UI thread stays free for the network thread and for keys.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from services.filters import MessageFilter
from services.payload import one_line
from services.store import Message

from ..text import clock, safe


class Notice(NamedTuple):
    """A row that is not a message ("… 1,234 more messages")."""

    text: str
    seq: int  # negative: never equal to a message's


class MessageLog(ScrollView, can_focus=True):
    BINDINGS = [Binding("space", "screen.toggle_pause", "Pause", show=False)]

    def __init__(self, max_lines: int = 1000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: deque[Message | Notice] = deque(maxlen=max_lines)
        self.filter = MessageFilter("")
        self.paused = False
        self.missed = 0  # arrived while paused
        self.follow = True  # keep the newest row in view
        self._notices = 0
        # formatted rows by (seq, width): a row is formatted once, when first drawn
        self._strips: LRUCache[tuple[int, int], Strip] = LRUCache(256)

    # --- writing --------------------------------------------------------------------

    def add(self, messages: Iterable[Message], skipped: int = 0) -> None:
        """Called once per tick with what arrived since the last one."""
        if self.paused:
            self.missed += skipped + sum(1 for _ in messages)
            self._retitle()
            return
        if self._append(messages, skipped):
            self.virtual_size = Size(self.size.width, len(self.rows))
            self.refresh()
            if self.follow:
                # after the refresh: a log that just outgrew its height has no scrollbar yet
                self.scroll_end(animate=False, x_axis=False)
        elif self.follow and self.scroll_y < self.max_scroll_y:
            # that deferred scroll can run before the layout caught up; by now it has
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def on_resize(self) -> None:
        # rows written before the first layout: now that the height is known, show the end
        self.virtual_size = Size(self.size.width, len(self.rows))
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # scrolled up by the user: stay there; back at the end: follow again
        self.follow = new >= self.max_scroll_y

    def _append(self, messages: Iterable[Message], skipped: int) -> int:
        """Append the rows that pass the filter; how many."""
        rows = self.rows
        added = 0
        if skipped:
            self._notices += 1
            text = f"… {skipped:,} more messages arrived (counted in the tree)"
            rows.append(Notice(text, -self._notices))
            added += 1
        matches = self.filter.matches if self.filter else None
        for m in messages:
            if matches is None or matches(m.topic, m.payload):
                rows.append(m)
                added += 1
        return added

    def show(self, messages: Iterable[Message]) -> None:
        """Replace the content (a new filter, or resuming after a pause)."""
        self.rows.clear()
        self._strips.clear()
        self.missed = 0
        self.add(messages)
        self.follow = True
        self.scroll_end(animate=False, x_axis=False)
        self._retitle()
        self.refresh()

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

    # --- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        row = self.rows[index]
        key = (row.seq, width)
        strip = self._strips.get(key)
        if strip is None:
            text = self.line(row) if isinstance(row, Message) else Text(row.text, "dim")
            segments = list(text.render(self.app.console)) or [Segment("")]
            strip = self._strips[key] = Strip(segments).apply_style(self.rich_style)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    @property
    def lines(self) -> list[Text]:
        """The rows as text (for tests and copying)."""
        return [self.line(r) if isinstance(r, Message) else Text(r.text) for r in self.rows]

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
            safe(one_line(m.payload, 160, m.length)),
            no_wrap=True,
            end="",
        )
