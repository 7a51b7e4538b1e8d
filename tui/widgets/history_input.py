"""An Input that recalls earlier entries with Up / Down, like a shell."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class HistoryInput(Input):
    BINDINGS = [
        Binding("up", "recall(-1)", "Earlier", show=False),
        Binding("down", "recall(1)", "Later", show=False),
    ]

    @dataclass
    class Recalled(Message):
        """An earlier entry was recalled (its index in `history`)."""

        index: int

    def __init__(self, history: list[str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history = history if history is not None else []
        self._pos = len(self.history)

    def action_recall(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        recalled = self._pos < len(self.history)
        self.value = self.history[self._pos] if recalled else ""
        self.cursor_position = len(self.value)
        if recalled:
            self.post_message(self.Recalled(self._pos))
