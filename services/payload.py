"""What a payload is and how to show it literally.

Everything here is pure and runs off the network thread: the store keeps raw bytes and
the UI asks for a preview only of what it shows.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Kind = Literal["empty", "json", "text", "binary", "jpeg", "png", "base64-jpeg"]

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# C0/C1 controls, DEL, and the Unicode format characters that reorder or hide text
# (bidi overrides and isolates, zero-width joiners): shown as visible escapes instead.
_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def literal(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control or invisible formatting character made visible.

    Newlines survive (and tabs become spaces) only with keep_newlines, for multi-line
    panes; everywhere else a payload stays on its own line. Rich markup needs no escaping
    here because callers build `rich.text.Text` objects, which never parse markup.
    """
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\t", "    ")
    else:
        text = text.replace("\n", "\\n")

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in _NAMED:
            return _NAMED[ch]
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"

    text = _UNSAFE.sub(escape, text)
    # unpaired surrogates (from surrogateescape) cannot be encoded by the terminal
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_text(payload: bytes) -> str | None:
    """The payload as UTF-8 text, or None if it is not valid UTF-8."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def classify(payload: bytes) -> Kind:
    if not payload:
        return "empty"
    image = _image_kind(payload)
    if image:
        return image
    text = decode_text(payload)
    if text is None or _mostly_controls(text):
        return "binary"
    if text[:1] in "{[" and parse_json(text) is not None:
        return "json"
    return "text"


def _is_base64_jpeg(payload: bytes) -> bool:
    try:
        head = base64.b64decode(payload[: min(len(payload), 64) // 4 * 4], validate=True)
    except (binascii.Error, ValueError):
        return False
    return head.startswith(b"\xff\xd8\xff")


_JSON_DEPTH_LIMIT = 200


def parse_json(text: str) -> object | None:
    """Parsed JSON, or None. Refuses absurd nesting instead of hitting the recursion limit."""
    depth = 0
    for ch in text[:100_000]:
        if ch in "[{":
            depth += 1
            if depth > _JSON_DEPTH_LIMIT:
                return None
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def hexdump(data: bytes, *, limit: int = 4096) -> str:
    """Classic 16-bytes-a-line hex dump, with printable ASCII on the right."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexpart:<47}  {ascii_part}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(lines)


def one_line(payload: bytes, width: int = 120, size: int | None = None) -> str:
    """A single-line literal preview for logs and tree labels.

    Drawn for every visible log row at a message flood, so it looks only at the start of
    the payload and never parses JSON (the payload pane does that). `size`: the real size
    when `payload` is only the head of it.
    """
    size = len(payload) if size is None else size
    if not payload:
        return "(empty)"
    kind = _image_kind(payload)
    if kind:
        return f"<{kind} image, {human_size(size)}>"
    head = payload[: width * 4]
    cut = size > len(head)
    try:
        text: str | None = head.decode("utf-8")
    except UnicodeDecodeError as e:
        # the prefix may end inside a character; any other error means it is not text
        partial = cut and e.start >= len(head) - 3 and e.reason == "unexpected end of data"
        text = head[: e.start].decode("utf-8") if partial else None
    if text is None or _mostly_controls(text):
        return f"<binary {human_size(size)}> " + payload[: width // 3].hex(" ")
    shown = literal(text)
    if len(shown) > width or cut:
        shown = shown[: width - 1] + "…"
    return shown


def _image_kind(payload: bytes) -> Kind | None:
    if payload.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if payload.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if payload.startswith(b"/9j/") and _is_base64_jpeg(payload):
        return "base64-jpeg"
    return None


def _mostly_controls(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if unicodedata.category(c) == "Cc" and c not in "\r\n\t")
    # valid UTF-8 with a few control characters is text (shown escaped); mostly controls is data
    return controls * 10 > len(sample) * 3


@dataclass(frozen=True, slots=True)
class Preview:
    """A payload prepared for the payload pane."""

    kind: Kind
    body: str
    truncated: bool = False
    syntax: str | None = None  # "json" when the body is pretty JSON


def preview(payload: bytes, max_bytes: int) -> Preview:
    truncated = len(payload) > max_bytes
    shown = payload[:max_bytes]
    kind = classify(payload)
    if kind == "empty":
        return Preview(kind, "(empty payload)")
    if kind in ("jpeg", "png", "base64-jpeg"):
        return Preview(kind, f"{kind} image, {len(payload):,} bytes — press v to view it", False)
    if kind == "binary":
        return Preview(kind, hexdump(shown), truncated)
    if kind == "json" and not truncated:
        value = parse_json(payload.decode("utf-8"))
        body = json.dumps(value, indent=2, ensure_ascii=False)
        return Preview(kind, literal(body, keep_newlines=True), False, syntax="json")
    text = shown.decode("utf-8", "replace")
    return Preview("text" if kind == "json" else kind, literal(text, keep_newlines=True), truncated)


def number_in(payload: bytes) -> tuple[float, str] | None:
    """The number a payload carries, with where it came from, for charts.

    A bare number ("21.5"), the first numeric field of a JSON object ({"t": 21.5} → "t"),
    or the first number inside text ("21.5 °C").
    """
    if not payload or len(payload) > 4096:
        return None
    text = decode_text(payload)
    if text is None:
        return None
    stripped = text.strip()
    if stripped[:1] in "{[":
        value = parse_json(stripped)
        found = _first_number(value, "")
        if found is not None:
            return found
        if value is not None:
            return None
    m = _NUMBER.search(stripped)
    if m is None:
        return None
    x = float(m.group())
    return (x, "") if math.isfinite(x) else None


def _first_number(value: object, path: str, depth: int = 0) -> tuple[float, str] | None:
    if depth > 8:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return (float(value), path) if math.isfinite(value) else None
    if isinstance(value, dict):
        for key, v in value.items():
            found = _first_number(v, f"{path}.{key}" if path else str(key), depth + 1)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value[:32]):
            found = _first_number(v, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
    return None


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
