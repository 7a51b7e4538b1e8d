"""Screenshots of the real app with fixed data, for the README.

    python -m screenshots.make        (from the repo root, in the venv)

Writes screenshots/*.svg, and *.png when rsvg-convert is installed.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

from textual.widgets import Input, TextArea

from tests.fixed_apps import fixed_app, settle

HERE = Path(__file__).parent
SIZE = (160, 48)


async def shoot(name: str, steps) -> Path:
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot)
        for widget in app.screen.query(Input):
            widget.cursor_blink = False
        for widget in app.screen.query(TextArea):
            widget.cursor_blink = False
        await pilot.pause(0.3)
        path = HERE / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(HERE))
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", str(path), "-o", str(path.with_suffix(".png"))], check=True)
    return path


async def traffic(pilot) -> None:
    await settle(pilot)


async def publish(pilot) -> None:
    await settle(pilot, "devices/esp32-1/cmd")
    await pilot.press("p")
    await pilot.pause(0.2)
    pilot.app.screen.query_one("#payload", TextArea).text = '{"led": 1,\n "blink": 3}'


async def devices(pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await pilot.pause(0.3)


async def camera(pilot) -> None:
    from tui.widgets.image_view import ImageView

    await settle(pilot)
    await pilot.press("3")
    view = pilot.app.screen.query_one(ImageView)
    while not str(view.border_title).startswith("Pi camera —"):
        await pilot.pause(0.05)


async def services(pilot) -> None:
    await settle(pilot)
    await pilot.press("4")
    await pilot.pause(0.3)


async def tunnels(pilot) -> None:
    await services(pilot)
    await pilot.press("t")
    await pilot.pause(0.2)
    await pilot.press("o")
    await pilot.pause(0.3)


async def main() -> None:
    shots = (
        ("traffic", traffic),
        ("publish", publish),
        ("devices", devices),
        ("camera", camera),
        ("services", services),
        ("tunnels", tunnels),
    )
    for name, steps in shots:
        print(await shoot(name, steps))


if __name__ == "__main__":
    asyncio.run(main())
