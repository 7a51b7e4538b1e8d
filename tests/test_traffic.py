"""The Traffic screen against a real Mosquitto: tree, log, payload pane, pause, filter."""

from __future__ import annotations

import json

from services.hub import Hub
from tui.app import PicentralApp
from tui.widgets.message_log import MessageLog
from tui.widgets.topic_tree import TopicTree

from .conftest import config_for, screen_text, wait_until


def log_text(app) -> str:
    log = app.screen.query_one(MessageLog)
    return "\n".join(line.plain for line in log.lines)


async def connected(app, pilot) -> None:
    await wait_until(pilot, lambda: app.hub.mqtt.connected)


async def test_messages_appear_in_tree_log_and_payload(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        esp = client_factory(mosquitto.port)
        esp.publish("greenhouse/esp32-7/temp", json.dumps({"t": 21.5, "unit": "C"}), retain=True)
        esp.publish("greenhouse/esp32-7/humidity", "48 %")
        tree = app.screen.query_one(TopicTree)
        await wait_until(pilot, lambda: tree.node_for("greenhouse/esp32-7/humidity"))
        await wait_until(pilot, lambda: "greenhouse/esp32-7/humidity" in log_text(app))
        assert '{"t": 21.5, "unit": "C"}' in log_text(app)

        app.traffic.show_topic("greenhouse/esp32-7/temp")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "greenhouse (2)" in text  # branch with the count of messages below it
        assert "temp" in text and "retained" in text and "QoS 1" in text
        assert '"t": 21.5' in text  # pretty JSON in the payload pane
        assert "t  last 21.5" in text  # the chart found the number inside the JSON


async def test_header_shows_address_state_and_total(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        esp = client_factory(mosquitto.port)
        for i in range(1200):
            esp.client.publish(f"load/{i % 7}", str(i))
        await wait_until(pilot, lambda: app.hub.store.count("load/6") >= 171)

        def header() -> str:
            return screen_text(app).splitlines()[0]

        # the header catches up within a tick ($SYS and the roster keep arriving meanwhile)
        await wait_until(pilot, lambda: f"{app.hub.store.total:,} msgs" in header())
        assert app.hub.store.total >= 1200  # thousands separator in the header, checked above
        assert f"mqtt://127.0.0.1:{mosquitto.port}" in header()
        assert "● connected" in header()
        assert "/s" in header()


async def test_sys_topics_have_their_own_branch(mosquitto):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        tree = app.screen.query_one(TopicTree)
        await wait_until(pilot, lambda: tree.node_for("$SYS/broker/version"))
        roots = [n.data.name for n in tree.root.children]
        assert roots[-1] == "$SYS"  # last, apart from the application topics


async def test_pause_freezes_the_log_and_resume_catches_up(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port, subscriptions=["a/#"])))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        esp = client_factory(mosquitto.port)
        esp.publish("a/before", "one")
        await wait_until(pilot, lambda: "a/before" in log_text(app))
        app.screen.query_one(TopicTree).focus()
        await pilot.press("space")
        esp.publish("a/during", "two")
        await wait_until(pilot, lambda: app.hub.store.count("a/during") == 1)
        await pilot.pause(0.3)
        assert "a/during" not in log_text(app)
        assert "paused — 1 new" in screen_text(app)
        assert "⏸ paused" in screen_text(app).splitlines()[0]
        await pilot.press("space")
        await wait_until(pilot, lambda: "a/during" in log_text(app))
        assert "paused" not in screen_text(app)


async def test_filter_by_topic_pattern_and_by_payload_text(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port, subscriptions=["#"])))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        esp = client_factory(mosquitto.port)
        esp.publish("devices/a/status", "online")
        esp.publish("devices/b/telemetry", '{"rssi": -60}')
        esp.publish("kitchen/light", "warm white")
        await wait_until(pilot, lambda: "kitchen/light" in log_text(app))

        await pilot.press("slash")
        await pilot.press(*"devices/+/status")
        await pilot.pause(0.2)
        shown = log_text(app)
        assert "devices/a/status" in shown
        assert "devices/b/telemetry" not in shown and "kitchen/light" not in shown

        await pilot.press("escape")  # clears the filter
        await pilot.pause(0.1)
        assert "kitchen/light" in log_text(app)

        await pilot.press("slash")
        await pilot.press(*"warm")
        await pilot.pause(0.2)
        shown = log_text(app)
        assert "kitchen/light" in shown and "devices/a/status" not in shown
        # new messages obey the filter too
        esp.publish("other/topic", "warm and new")
        esp.publish("other/cold", "nope")
        await wait_until(pilot, lambda: "other/topic" in log_text(app))
        await wait_until(pilot, lambda: app.hub.store.count("other/cold") == 1)
        await pilot.pause(0.2)
        assert "other/cold" not in log_text(app)


async def test_the_footer_is_not_rebuilt_when_a_modal_closes(mosquitto):
    """Textual's Footer rebuilt its keys on every focus change; ours only when they differ."""
    from textual.widgets._footer import FooterKey

    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(app, pilot)
        keys = list(app.screen.query(FooterKey))
        assert "Pause" in {k.description for k in keys}
        for _ in range(2):
            await pilot.press("question_mark")
            await pilot.pause(0.1)
            await pilot.press("question_mark")
            await pilot.pause(0.1)
        assert list(app.screen.query(FooterKey)) == keys  # the same widgets
        await pilot.press("2")
        await pilot.pause(0.1)
        assert "Sort" in {k.description for k in app.screen.query(FooterKey)}
        await pilot.press("1")
        await pilot.pause(0.1)
        assert "Pause" in screen_text(app).splitlines()[-1]
