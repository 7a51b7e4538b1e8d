"""The publish dialog against a real Mosquitto: keys, validation, presets, history."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox, Input, RadioSet, TextArea

from services.hub import Hub
from tui.app import PicentralApp
from tui.screens.publish import PublishModal

from .conftest import config_for, screen_text, wait_until


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.fixture
async def ready(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        sub = client_factory(mosquitto.port, subscribe="#")
        yield app, pilot, sub


async def test_ctrl_s_publishes_topic_and_multiline_payload(ready):
    app, pilot, sub = ready
    await pilot.press("p")
    assert isinstance(app.screen, PublishModal)
    await pilot.press(*"lab/esp32-1/cmd")
    await pilot.press("tab")
    assert app.screen.focused is app.screen.query_one("#payload", TextArea)
    await pilot.press(*'{"led":', "enter", *" 1}")
    await pilot.press("ctrl+s")
    assert sub.wait_for("lab/esp32-1/cmd") == b'{"led":\n 1}'
    assert not isinstance(app.screen, PublishModal)  # closed after publishing
    await wait_until(pilot, lambda: any("sent" in n for n in notifications(app)))


async def test_enter_in_topic_publishes_with_qos_and_retain(ready):
    app, pilot, sub = ready
    await pilot.press("p")
    modal = app.screen
    await pilot.press(*"lab/lamp")
    modal.query_one("#payload", TextArea).text = "on"
    await pilot.press("tab", "tab")  # topic → payload → QoS
    assert modal.focused is modal.query_one("#qos", RadioSet)
    await pilot.press("right", "enter")  # QoS 1
    await pilot.press("tab", "space")  # retain
    assert modal.query_one("#retain", Checkbox).value
    modal.query_one("#topic", Input).focus()
    await pilot.press("enter")
    assert sub.wait_for("lab/lamp") == b"on"
    msg = [m for m in sub.messages if m.topic == "lab/lamp"][-1]
    assert msg.qos == 1
    await wait_until(pilot, lambda: any("delivered" in n for n in notifications(app)))
    # the broker kept it: a new subscriber gets it retained
    late = type(sub)(app.hub.config.broker.port, subscribe="lab/lamp")
    try:
        assert late.wait_for("lab/lamp") == b"on"
        assert late.messages[-1].retain
    finally:
        late.close()


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("", "the topic is empty"),
        ("lab/+/cmd", "wildcards + and # are only for subscribing"),
        ("lab/#", "wildcards + and # are only for subscribing"),
        ("x" * 65536, "longer than 65535 bytes"),
        ("lab/\x00nul", "NUL"),
    ],
)
async def test_bad_topics_are_refused_with_a_reason(ready, topic, reason):
    app, pilot, sub = ready
    await pilot.press("p")
    modal = app.screen
    modal.query_one("#topic", Input).value = topic
    await pilot.press("ctrl+s")
    assert app.screen is modal  # still open
    assert reason in screen_text(app)
    await pilot.pause(0.3)
    published = [m.topic for m in sub.messages if not m.topic.startswith(("$SYS", "picentral"))]
    assert published == []


async def test_presets_and_history(ready):
    app, pilot, sub = ready
    await pilot.press("p", "f1")  # preset "led on" from the default config
    modal = app.screen
    assert modal.query_one("#topic", Input).value == "devices/esp32-1/cmd"
    assert modal.query_one("#payload", TextArea).text == '{"led":1}'
    await pilot.press("ctrl+s")
    assert sub.wait_for("devices/esp32-1/cmd") == b'{"led":1}'

    await pilot.press("p")
    modal = app.screen
    modal.query_one("#topic", Input).value = ""
    await pilot.press("up")  # recalls the last publish, payload included
    assert modal.query_one("#topic", Input).value == "devices/esp32-1/cmd"
    assert modal.query_one("#payload", TextArea).text == '{"led":1}'
    await pilot.press("escape")
    assert not isinstance(app.screen, PublishModal)


async def test_topic_is_prefilled_with_the_selected_one(ready, client_factory):
    app, pilot, sub = ready
    sub.publish("garden/valve", "closed")
    await wait_until(pilot, lambda: app.hub.store.count("garden/valve"))
    await pilot.pause(0.2)
    app.traffic.show_topic("garden/valve")
    await pilot.pause(0.2)
    await pilot.press("p")
    assert app.screen.query_one("#topic", Input).value == "garden/valve"


async def test_clear_retained_asks_then_clears(ready):
    app, pilot, sub = ready
    sub.publish("old/board/status", "online", retain=True)
    await wait_until(pilot, lambda: app.hub.store.count("old/board/status"))
    await pilot.pause(0.2)
    app.traffic.show_topic("old/board/status")
    await pilot.pause(0.2)
    await pilot.press("delete")
    assert "Clear the retained message of" in screen_text(app)
    await pilot.press("y")
    await pilot.pause(0.5)
    late = type(sub)(app.hub.config.broker.port, subscribe="old/board/status")
    try:
        await pilot.pause(0.5)
        assert late.received("old/board/status") == []  # the broker forgot it
    finally:
        late.close()


async def test_command_palette_opens_the_publish_dialog(ready):
    app, pilot, _ = ready
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"Publish")
    await pilot.pause(0.5)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, PublishModal))
