"""Rich Text built from network strings: always literal, never markup."""

from __future__ import annotations

import time

from rich.text import Text

from services.payload import literal


def safe(text: str, style: str = "") -> Text:
    """A single-line Text of untrusted `text`: markup, escapes and controls stay visible."""
    return Text(literal(text), style=style, no_wrap=True, end="")


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) + f".{int(ts * 1000) % 1000:03d}"
