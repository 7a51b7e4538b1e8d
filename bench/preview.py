"""Preview benchmark: a 1920×1080 JPEG drawn into 160×48 terminal cells.

    python -m bench.preview          (from the repo root, in the venv)

Prints one JSON object. In the same run:
  floor          Pillow's own decode + downscale to 160×96 pixels (draft + thumbnail)
  picentral      what the Camera screen does: services.images.decode + tui.pixels
                 (rich-pixels with our renderer), segments ready for Textual
  rich_pixels    rich-pixels used as documented: Pixels.from_image(full image, resize=…)
and a burst: 50 frames/s for 10 s on an image topic shown on the Camera screen, with the
resident memory before and after, the frames drawn, and how long a key takes to be handled
and drawn meanwhile (Pilot: `?` opens the help, `esc` closes it; per key).
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from PIL import Image
from rich_pixels import Pixels

from services.camera import TestPattern
from services.images import decode, fit_cells
from tests.brokers import Mosquitto
from tests.conftest import Client, config_for
from tui.pixels import pixels

COLS, ROWS = 160, 48
RUNS = 30


def frame_jpeg() -> bytes:
    """A photo-like 1920×1080 JPEG: the test pattern plus noise, so colours vary."""
    img = TestPattern(lambda: 0).image(1920, 1080)
    noise = Image.effect_noise((1920, 1080), 40).convert("RGB")
    out = io.BytesIO()
    Image.blend(img, noise, 0.3).save(out, "JPEG", quality=85)
    return out.getvalue()


def timed(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def render_times(jpeg: bytes) -> dict:
    def floor() -> None:
        img = Image.open(io.BytesIO(jpeg))
        img.draft("RGB", (COLS, ROWS * 2))
        img.thumbnail((COLS, ROWS * 2))

    def ours() -> None:
        img = decode(jpeg, (COLS, ROWS * 2))
        pixels(img, fit_cells(img.size, COLS, ROWS))

    def documented() -> None:
        img = Image.open(io.BytesIO(jpeg))
        Pixels.from_image(img, resize=(COLS, ROWS * 2))

    f, o, d = timed(floor), timed(ours), timed(documented)
    return {
        "floor_ms": round(f, 2),
        "picentral_ms": round(o, 2),
        "rich_pixels_ms": round(d, 2),
        "picentral_vs_floor": round(o / f, 2),
        "rich_pixels_vs_floor": round(d / f, 2),
    }


async def burst(port: int, jpeg: bytes, tmp: str) -> dict:
    from services.hub import Hub
    from tui.app import PicentralApp
    from tui.widgets.image_view import ImageView

    cfg = config_for(port)
    cfg = cfg.model_copy(
        update={
            "camera": cfg.camera.model_copy(update={"backend": "testpattern", "capture_dir": tmp})
        }
    )
    app = PicentralApp(Hub(cfg))
    proc = psutil.Process()
    drawn = 0
    async with app.run_test(size=(COLS + 50, ROWS + 4)) as pilot:
        while not app.hub.mqtt.connected:
            await pilot.pause(0.05)
        cam = Client(port)
        cam.publish("esp32/burst/image", jpeg)
        await pilot.press("3")
        await pilot.pause(1.5)
        screen = app.screen
        screen.source = "esp32/burst/image"
        view = screen.query_one(ImageView)
        original = view.show_picture

        def counting(picture) -> None:
            nonlocal drawn
            drawn += 1
            original(picture)

        view.show_picture = counting
        idle: list[float] = []  # the same keys before the burst: the baseline
        for _ in range(10):
            k0 = time.perf_counter()
            await pilot.press("question_mark")
            await pilot.press("escape")
            idle.append((time.perf_counter() - k0) * 1000 / 2)
        rss_before = proc.memory_info().rss / 2**20
        t0 = time.monotonic()
        sent = 0
        keys: list[float] = []  # `?` then `esc`: the help opens and closes during the burst
        while time.monotonic() - t0 < 10:
            cam.client.publish("esp32/burst/image", jpeg, qos=0)
            sent += 1
            if sent % 25 == 0:
                k0 = time.perf_counter()
                await pilot.press("question_mark")
                await pilot.press("escape")
                keys.append((time.perf_counter() - k0) * 1000 / 2)
            await asyncio.sleep(max(0, t0 + sent / 50 - time.monotonic()))
        await pilot.pause(1)
        rss_after = proc.memory_info().rss / 2**20
        cam.close()
    return {
        "frames_sent": sent,
        "frames_drawn": drawn,
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(rss_after, 1),
        "key_ms_p50_idle_baseline": round(statistics.median(idle), 1),
        "key_ms_p50": round(statistics.median(keys), 1),
        "key_ms_max": round(max(keys), 1),
        "key_samples": len(keys),
    }


def main() -> None:
    jpeg = frame_jpeg()
    result = {"jpeg_bytes": len(jpeg), "cells": f"{COLS}x{ROWS}", "render": render_times(jpeg)}
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), ["allow_anonymous true"]).start()
        try:
            result["burst_50fps_10s"] = asyncio.run(burst(broker.port, jpeg, tmp))
        finally:
            broker.stop()
    result["targets"] = {"picentral_vs_floor": "<= 3", "picentral_ms": "<= 25"}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
