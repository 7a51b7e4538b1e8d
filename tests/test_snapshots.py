"""Looks: snapshots of the real screens with fixed data (textual is pinned exactly)."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from .fixed_apps import fixed_app, settle

SIZE = (160, 48)


def test_traffic_screen(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=settle)


def test_publish_dialog(snap_compare):
    async def open_dialog(pilot) -> None:
        await settle(pilot, "devices/esp32-1/cmd")
        await pilot.press("p")
        await pilot.pause(0.2)
        pilot.app.screen.query_one("#payload", TextArea).text = '{"led": 1,\n "blink": 3}'
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        pilot.app.screen.query_one("#payload", TextArea).cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_dialog)


def test_help_screen(snap_compare):
    async def open_help(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_help)


def test_devices_screen_with_a_mixed_fleet(snap_compare):
    async def open_devices(pilot) -> None:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_devices)


def test_camera_screen_with_the_test_pattern(snap_compare):
    async def open_camera(pilot) -> None:
        from tui.widgets.image_view import ImageView

        await settle(pilot)
        await pilot.press("3")
        view = pilot.app.screen.query_one(ImageView)
        for _ in range(100):  # the preview is drawn by a worker thread
            await pilot.pause(0.05)
            if str(view.border_title).startswith("Pi camera —"):
                break
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_camera)


def test_services_screen(snap_compare):
    async def open_services(pilot) -> None:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_services)


def test_tunnels_dialog_with_a_qr_code(snap_compare):
    async def open_tunnels(pilot) -> None:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause(0.2)
        await pilot.press("t")
        await pilot.pause(0.2)
        await pilot.press("o")
        await pilot.pause(0.3)

    assert snap_compare(fixed_app(), terminal_size=SIZE, run_before=open_tunnels)
