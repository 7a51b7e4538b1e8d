"""A QR code drawn with half blocks: two modules a cell, dark on light so phones read it."""

from __future__ import annotations

import segno
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

_CELL = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
_STYLE = Style(color="black", bgcolor="white")


def qr_text(data: str, border: int = 2) -> Text:
    rows = [
        [bool(m) for m in row] for row in segno.make(data, error="m").matrix_iter(border=border)
    ]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = [
        "".join(_CELL[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]
    return Text("\n".join(lines), style=_STYLE, no_wrap=True)


class QrCode(Static):
    def show(self, data: str) -> None:
        self.update(qr_text(data) if data else "")
