"""The header: broker address, connection state and why, message total and rate."""

from __future__ import annotations

import time

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from services.events import ConnectionState

_STATE_STYLE = {
    "connected": ("●", "bold green"),
    "connecting": ("◌", "yellow"),
    "reconnecting": ("◌", "bold yellow"),
    "error": ("✖", "bold red"),
    "stopped": ("○", "dim"),
}


class BrokerHeader(Widget):
    address: reactive[str] = reactive("")
    embedded: reactive[bool] = reactive(False)
    state: reactive[ConnectionState] = reactive(ConnectionState("stopped"))
    total: reactive[int] = reactive(0)
    rate: reactive[float] = reactive(0.0)
    paused: reactive[bool] = reactive(False)
    capturing: reactive[bool] = reactive(False)

    def render(self) -> Text:
        icon, style = _STATE_STYLE.get(self.state.status, ("?", ""))
        text = Text.assemble(
            (" picentral ", "bold reverse"),
            "  ",
            (self.address, "bold"),
        )
        if self.embedded:
            text.append("  (embedded broker)", style="italic cyan")
        text.append("  ")
        text.append(f"{icon} {self.status_text()}", style=style)
        text.append("  │  ")
        text.append(f"{self.total:,} msgs", style="bold")
        text.append(f" · {self.rate:,.1f}/s")
        if self.paused:
            text.append("  ⏸ paused", style="bold magenta")
        if self.capturing:
            text.append("  ◉ capturing…", style="bold red")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    def status_text(self) -> str:
        s = self.state
        wait = None if s.retry_at is None else max(0, round(s.retry_at - time.monotonic()))
        if s.status == "reconnecting":
            words = "reconnecting" if wait is None else f"reconnecting in {wait} s"
            return f"{words} — {s.reason}" if s.reason else words
        if s.status == "error":
            words = f"error: {s.reason}"
            return words if wait is None else f"{words} (retry in {wait} s)"
        return s.status
