"""The Services screen (4) and the tunnels dialog (t), driven from the keyboard, against
a real Mosquitto, a real Node-RED and the stand-in ngrok agent."""

from __future__ import annotations

import segno

from services.config import parse_config
from services.hub import Hub
from tui.app import PicentralApp
from tui.screens.confirm import ConfirmModal
from tui.screens.tunnels import TunnelsModal
from tui.widgets.qr_code import QrCode, qr_text

from .conftest import screen_text, wait_until
from .nodered import NodeRed
from .test_tunnels import AGENT

TOKEN = "2xSECRETtoken_never_shown"


def hub_for(port: int, node_red_url: str, tmp_path) -> Hub:
    return Hub(
        parse_config(
            {
                "broker": {"port": port, "embedded": "never"},
                "ui": {"refresh_hz": 20},
                "camera": {"backend": "testpattern", "capture_dir": str(tmp_path / "caps")},
                "services": {
                    "interval_s": 1,
                    "check": [
                        {"name": "mosquitto", "tcp": f"127.0.0.1:{port}"},
                        {"name": "node-red", "http": node_red_url},
                    ],
                },
                "tunnels": {
                    "ngrok_path": str(AGENT),
                    "authtoken": TOKEN,
                    "endpoint": [
                        {"name": "node-red", "proto": "http", "addr": 1880},
                        {"name": "mqtt", "proto": "tcp", "addr": port},
                    ],
                },
            }
        )
    )


async def test_services_screen_shows_checks_broker_node_red_and_the_pi(mosquitto, tmp_path):
    red = NodeRed(tmp_path / "nr").start()
    app = PicentralApp(hub_for(mosquitto.port, red.url, tmp_path))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("4")
            await wait_until(pilot, lambda: "Node-RED 4." in screen_text(app))
            await wait_until(pilot, lambda: "clients" in screen_text(app))
            text = screen_text(app)
            assert text.count("● up") == 2  # mosquitto's port and Node-RED's URL
            assert "2 flows, 2 nodes (1 disabled) · flows running" in text
            assert "⚠ anonymous clients allowed" in text and "mosquitto_passwd" in text
            assert "127.0.0.1 (this machine only)" in text
            assert "load" in text and "GB free for captures" in text
            assert "CPU %" in text and "msgs/s" in text
            assert "node-red  http" in text and "stopped" in text  # the tunnels
            app.screen.query_one("#tunnel-table").focus()
            await pilot.press("enter")  # a tunnel row opens the tunnels dialog
            await wait_until(pilot, lambda: isinstance(app.screen, TunnelsModal))
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, TunnelsModal))

            red.stop()
            await wait_until(pilot, lambda: "✖ down" in screen_text(app))
            await wait_until(
                pilot, lambda: any("node-red is down" in str(n.message) for n in app._notifications)
            )
    finally:
        red.stop()


async def test_tunnels_dialog_starts_shows_the_url_and_qr_and_asks_before_exposing(
    mosquitto, tmp_path
):
    app = PicentralApp(hub_for(mosquitto.port, "http://127.0.0.1:9/", tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.health.report.exposure is not None)
        await pilot.press("t")
        assert isinstance(app.screen, TunnelsModal)
        await pilot.press("enter")  # node-red: start
        await wait_until(pilot, lambda: "● online" in screen_text(app))
        url = app.hub.tunnels.state("node-red").public_url
        assert url in screen_text(app)
        assert "no basic_auth: anyone with the URL reaches it" in screen_text(app)

        await pilot.press("o")
        await pilot.pause(0.3)
        qr = app.screen.query_one(QrCode)
        assert qr.display and "█" in screen_text(app)

        await pilot.press("down", "enter")  # mqtt: a TCP tunnel to an anonymous broker
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "lets anyone connect without a password" in screen_text(app)
        await pilot.press("escape")  # no
        await pilot.pause(0.3)
        assert app.hub.tunnels.state("mqtt").state == "stopped"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_until(pilot, lambda: app.hub.tunnels.state("mqtt").state == "online")
        await wait_until(pilot, lambda: "tcp://0.tcp.eu.ngrok.io:" in screen_text(app))

        await pilot.press("up", "enter")  # node-red: stop
        await wait_until(pilot, lambda: app.hub.tunnels.state("node-red").state == "stopped")
        assert TOKEN not in screen_text(app)
        assert all(TOKEN not in str(n.message) for n in app._notifications)
    # tunnels stop when picentral exits
    assert {t.state for t in app.hub.tunnels.states()} == {"stopped"}


def test_the_qr_code_draws_exactly_segnos_modules():
    url = "https://1a2b3c4d-203-0-113-7.ngrok-free.app"
    lines = qr_text(url).plain.splitlines()
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▀": False, "▄": True, " ": False}
    drawn = []
    for line in lines:
        drawn.append([top[c] for c in line])
        drawn.append([bottom[c] for c in line])
    expected = [[bool(m) for m in row] for row in segno.make(url, error="m").matrix_iter(border=2)]
    assert drawn[: len(expected)] == expected
    assert not any(any(row) for row in drawn[len(expected) :])
