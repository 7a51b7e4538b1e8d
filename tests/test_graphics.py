"""How pictures reach the terminal: half-block cells or Kitty / Sixel graphics."""

from __future__ import annotations

import io

from PIL import Image
from rich.console import Console
from rich_pixels import HalfcellRenderer
from textual_image.renderable import SixelImage, TGPImage

from services.camera import TestPattern as Pattern  # not a test class
from tui.graphics import choose, fit_for, graphics, halfblock
from tui.pixels import FastHalfcellRenderer


def rendered(renderable, width: int = 80) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=width).print(renderable)
    return out.getvalue()


def test_halfblock_by_config_and_over_ssh(monkeypatch):
    assert choose("halfblock") == (halfblock, "half-block cells (ui.images)")
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    assert choose("auto")[0] is halfblock and "over SSH" in choose("auto")[1]


def test_graphics_fall_back_when_the_terminal_has_none(monkeypatch):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    picture, why = choose("graphics")  # pytest's stdout is no Kitty terminal
    assert picture is halfblock and "no Kitty or Sixel" in why


def test_kitty_and_sixel_renderables_draw_real_graphics():
    image = Pattern(lambda: 0).image(320, 180)
    kitty = rendered(graphics(TGPImage)(image, 40, 10))
    assert "\U0010eeee" in kitty  # Kitty's Unicode placeholders, where the image is placed
    sixel = rendered(graphics(SixelImage)(image, 40, 10))
    assert "\x1bP" in sixel  # a Sixel DCS sequence
    assert fit_for(graphics(TGPImage), 40, 10) == (400, 200)  # full resolution, not cells


def test_halfblock_renderer_output_is_rich_pixels_own():
    noise = Image.effect_noise((64, 48), 60).convert("RGB")
    rgba = Image.new("RGBA", (30, 21), (255, 0, 0, 0))
    rgba.paste((0, 255, 0, 255), (5, 5, 20, 15))
    for image, size in (
        (Pattern(lambda: 0).image(320, 180), (160, 90)),
        (noise, (64, 48)),
        (rgba, (30, 21)),
    ):
        assert FastHalfcellRenderer().render(image, size) == HalfcellRenderer().render(image, size)
    assert "▄" in rendered(halfblock(noise, 32, 12))
