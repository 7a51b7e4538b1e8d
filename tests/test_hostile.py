"""Hostile payloads and topics from a real broker are shown literally and break nothing."""

from __future__ import annotations

from services.hub import Hub
from tui.app import PicentralApp

from .conftest import config_for, screen_text, wait_until
from .test_traffic import log_text

HOSTILE = {
    "evil/markup": b"[bold red]x[/] [link=https://evil.example]click[/link]",
    "evil/ansi": b"\x1b[2J\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "evil/cr": b"visible\rhidden",
    "evil/nul": b"before\x00after",
    "evil/utf8": b"\xff\xfe\xfd binary \xc3\x28",
    "evil/bidi": "price \u202e0001$\u202c ok".encode(),
    "[bold]evil[/bold]/topic \u202eright-to-left": b"topic markup",
}


async def test_hostile_payloads_are_shown_literally(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port, subscriptions=["#"])))
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        esp = client_factory(mosquitto.port)
        for topic, payload in HOSTILE.items():
            esp.publish(topic, payload)
        await wait_until(pilot, lambda: len(app.hub.store.topics()) >= len(HOSTILE))
        await pilot.pause(0.3)
        log = log_text(app)
        assert "[bold red]x[/] [link=https://evil.example]click[/link]" in log
        assert "\\x1b[2J\\x1b[31mred\\x1b[0m\\x1b]0;title\\x07" in log
        assert "visible\\rhidden" in log
        assert "<binary" in log  # NUL-laden and invalid UTF-8 payloads as hex
        assert "price \\u202e0001$\\u202c ok" in log
        assert "[bold]evil[/bold]/topic \\u202eright-to-left" in log
        rendered = screen_text(app)
        for ch in "\x1b\r\x00\x07\u202e":
            assert ch not in rendered

        app.traffic.show_topic("evil/utf8")
        await pilot.pause(0.3)
        assert "ff fe fd 20 62 69 6e 61" in screen_text(app)  # hex dump in the payload pane

        app.traffic.show_topic("evil/markup")
        await pilot.pause(0.3)
        assert "[link=https://evil.example]click[/link]" in screen_text(app)
        # the tree shows the markup topic as typed, not styled
        assert "[bold]evil[/bold]" in screen_text(app)


async def test_huge_and_deep_payloads_keep_the_app_up(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port, subscriptions=["#"])))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        esp = client_factory(mosquitto.port)
        esp.publish("big/blob", b"A" * (5 * 1024 * 1024))
        esp.publish("deep/json", b"[" * 100_000 + b"]" * 100_000)
        esp.publish("deep/object", b'{"a":' * 5000 + b"1" + b"}" * 5000)
        await wait_until(pilot, lambda: app.hub.store.count("deep/object") == 1)
        await pilot.pause(0.3)

        app.traffic.show_topic("big/blob")
        await pilot.pause(0.5)
        text = screen_text(app)
        assert "5,242,880 bytes" in text
        assert "cut at 65,536 of 5,242,880 bytes" in text

        app.traffic.show_topic("deep/json")
        await pilot.pause(0.3)
        assert "200,000 bytes" in screen_text(app)
        app.traffic.show_topic("deep/object")
        await pilot.pause(0.3)
        assert app.is_running
        # still responsive: the help screen opens and closes
        await pilot.press("question_mark")
        assert "picentral — keys" in screen_text(app)
        await pilot.press("escape")
