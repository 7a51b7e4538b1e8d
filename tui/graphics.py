"""How pictures reach the terminal: half-block cells (always works, the default over SSH)
or real graphics (Kitty's protocol, Sixel) through textual-image, at full resolution.

textual-image asks the terminal what it supports when its renderable module is imported,
which must happen before `App.run()`: the CLI calls `choose()` first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

from PIL.Image import Image
from rich.console import RenderableType

from services.images import fit_cells

from .pixels import pixels

Mode = Literal["auto", "halfblock", "graphics"]
Picture = Callable[[Image, int, int], RenderableType]  # (image, cols, rows) → renderable


def halfblock(image: Image, cols: int, rows: int) -> RenderableType:
    return pixels(image, fit_cells(image.size, cols, rows))


halfblock.pixels_per_cell = (2, 4)  # type: ignore[attr-defined]  # decoded at 2× for quality


def fit_for(picture: Picture, cols: int, rows: int) -> tuple[int, int]:
    """The pixel size to decode a frame at, for a pane of cols × rows cells."""
    px, py = getattr(picture, "pixels_per_cell", (10, 20))  # graphics: about a cell's pixels
    return cols * px, rows * py


def choose(mode: Mode) -> tuple[Picture, str]:
    """The picture maker for `[ui] images`, and what was chosen and why."""
    if mode == "halfblock":
        return halfblock, "half-block cells (ui.images)"
    if mode == "auto" and os.environ.get("SSH_CONNECTION"):
        return halfblock, "half-block cells (over SSH)"
    try:
        from textual_image.renderable import Image as Detected
        from textual_image.renderable import SixelImage, TGPImage
    except ImportError:
        return halfblock, "half-block cells (textual-image is not installed)"
    if Detected not in (TGPImage, SixelImage):
        return halfblock, "half-block cells (the terminal has no Kitty or Sixel graphics)"
    return graphics(Detected), f"{'Kitty' if Detected is TGPImage else 'Sixel'} graphics"


def graphics(renderable: type) -> Picture:
    def make(image: Image, cols: int, rows: int) -> RenderableType:
        return renderable(image, width=cols, height=rows)

    make.pixels_per_cell = (10, 20)  # type: ignore[attr-defined]
    return make
