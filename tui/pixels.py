"""Half-block pixels for rich-pixels, fast: the same segments as its HalfcellRenderer.

rich-pixels parses a style string per cell (`Style.parse("rgb(…) on rgb(…)")`) and reads
pixels one call at a time; at 160×48 cells that is most of a frame's budget. This renderer
(plugged in through rich-pixels' `renderer=` hook) reads the pixel bytes at once and
builds the very same `Style` objects, cached by colour pair.
"""

from __future__ import annotations

from functools import lru_cache

from PIL.Image import Image, Resampling
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich_pixels import HalfcellRenderer, Pixels


@lru_cache(maxsize=65536)
def _color(rgb: tuple[int, int, int]) -> Color:
    r, g, b = rgb
    # exactly what Color.parse(f"rgb({r},{g},{b})") returns, without parsing
    return Color(f"rgb({r},{g},{b})", ColorType.TRUECOLOR, triplet=ColorTriplet(r, g, b))


@lru_cache(maxsize=65536)
def _style(lower: tuple[int, int, int] | None, upper: tuple[int, int, int] | None) -> Style:
    return Style(color=_color(lower) if lower else None, bgcolor=_color(upper) if upper else None)


class FastHalfcellRenderer(HalfcellRenderer):
    def render(self, image: Image, resize: tuple[int, int] | None) -> list[Segment]:
        target_height = resize[1] if resize else image.size[1]
        if target_height % 2:
            target_height += 1
        if image.size[1] != target_height:
            resize = (resize[0], target_height) if resize else (image.size[0], target_height)
        rgba = image.convert("RGBA")
        if resize:
            rgba = rgba.resize(resize, resample=Resampling.NEAREST)
        width, height = rgba.size
        data = rgba.tobytes()
        stride = width * 4
        newline = Segment("\n", self.null_style)
        default = self.default_color
        segments: list[Segment] = []
        append = segments.append
        for y in range(0, height, 2):
            top = y * stride
            bottom = top + stride if y + 1 < height else None
            for x in range(0, stride, 4):
                up = data[top + x : top + x + 4]
                upper = tuple(up[:3]) if up[3] else None
                if bottom is not None:
                    lo = data[bottom + x : bottom + x + 4]
                    lower = tuple(lo[:3]) if lo[3] else None
                else:
                    lower = None
                if default is not None or (upper is None and lower is None):
                    # transparency with a default colour: rare; let rich-pixels decide
                    append(self._render_halfcell(x=x // 4, y=y, get_pixel=rgba.getpixel))
                    continue
                append(Segment("▄" if lower else " ", _style(lower, upper)))
            append(newline)
        return segments


RENDERER = FastHalfcellRenderer()


def pixels(image: Image, size: tuple[int, int]) -> Pixels:
    """rich-pixels Pixels of `image` resized to `size` (w, 2×rows) pixels."""
    return Pixels.from_image(image, resize=size, renderer=RENDERER)


def source_size(image: Image) -> str:
    """ "1920×1080": the size the picture was sent at (see services.images.decode)."""
    w, h = image.info.get("source_size", image.size)
    return f"{w}×{h}"
