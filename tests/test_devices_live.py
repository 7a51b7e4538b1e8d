"""Devices against a real Mosquitto: conventions, Last Will, staleness, the roster topic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from services.hub import Hub
from tui.app import PicentralApp
from tui.widgets.device_table import DeviceTable

from .conftest import Client, config_for, screen_text, wait_for, wait_until
from .test_config import REPO


def states(hub: Hub) -> dict[str, str]:
    return {k: d.state for k, d in hub.devices.snapshot()[1].items()}


def test_every_convention_from_a_real_client(mosquitto):
    hub = Hub(config_for(mosquitto.port))
    hub.start()
    fleet = Client(mosquitto.port)
    try:
        wait_for(lambda: hub.mqtt.connected)
        fleet.publish("devices/esp32-1/status", "online", retain=True)
        fleet.publish("tele/plug-2/LWT", "Online", retain=True)
        fleet.publish("tele/plug-3/LWT", "Offline", retain=True)
        fleet.publish("kitchen/status", "online", retain=True)
        fleet.publish("homie/boiler/$state", "ready", retain=True)
        fleet.publish("homie/5/garage/$state", "sleeping", retain=True)
        fleet.publish(
            "homeassistant/switch/pump/config",
            json.dumps(
                {
                    "avty_t": "pump/avail",
                    "pl_avail": "UP",
                    "pl_not_avail": "DOWN",
                    "cmd_t": "pump/set",
                    "dev": {"ids": ["pump-01"]},
                }
            ),
            retain=True,
        )
        fleet.publish("pump/avail", "UP", retain=True)
        expected = {
            "generic:esp32-1": "online",
            "tasmota:plug-2": "online",
            "tasmota:plug-3": "offline",
            "esphome:kitchen": "online",
            "homie:boiler": "online",
            "homie:garage": "sleeping",
            "homeassistant:pump-01": "online",
        }
        wait_for(lambda: states(hub) == expected)
    finally:
        fleet.close()
        hub.stop()


def test_last_will_turns_a_killed_board_offline(mosquitto, tmp_path):
    hub = Hub(config_for(mosquitto.port))
    hub.start()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[broker]\nport = {mosquitto.port}\nprotocol = "3.1.1"\n')
    board = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(cfg), "simulate", "--devices", "1"],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: states(hub).get("generic:esp32-1") == "online", timeout=20)
        os.kill(board.pid, signal.SIGKILL)  # no DISCONNECT: the broker publishes the Will
        wait_for(lambda: states(hub).get("generic:esp32-1") == "offline", timeout=20)
    finally:
        board.kill()
        hub.stop()


def test_staleness_follows_the_injected_clock(mosquitto):
    now = [1_000_000.0]
    cfg = config_for(mosquitto.port, subscriptions=["devices/#"])
    cfg = cfg.model_copy(update={"devices": cfg.devices.model_copy(update={"stale_after_s": 30})})
    hub = Hub(cfg, clock=lambda: now[0])
    hub.start()
    try:
        wait_for(lambda: hub.mqtt.connected)
        Client(mosquitto.port).publish("devices/quiet/status", "online")
        wait_for(lambda: states(hub).get("generic:quiet") == "online")
        now[0] += 29
        hub.devices.step()
        assert states(hub)["generic:quiet"] == "online"
        now[0] += 2
        hub.devices.step()
        assert states(hub)["generic:quiet"] == "stale"
    finally:
        hub.stop()


async def test_devices_screen_and_the_roster_topic_agree(mosquitto, client_factory):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    said: list[str] = []  # every notification, also those Textual has already expired
    notify = app.notify
    app.notify = lambda message, **kw: (said.append(message), notify(message, **kw))[1]
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        watcher = client_factory(mosquitto.port, subscribe="picentral/devices")
        fleet = client_factory(mosquitto.port)
        fleet.publish("devices/a1/status", "online", retain=True)
        fleet.publish("devices/a1/telemetry", '{"rssi": -48, "ip": "10.1.1.1", "fw": "2.0"}')
        fleet.publish("tele/p9/LWT", "Offline", retain=True)
        await pilot.press("2")
        table = app.screen.query_one(DeviceTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        await wait_until(pilot, lambda: "-48 dBm" in screen_text(app))
        assert "1 online / 2 known" in screen_text(app)

        def roster() -> list[dict]:
            got = watcher.received("picentral/devices")
            return json.loads(got[-1]) if got else []

        await wait_until(
            pilot,
            lambda: {d["id"]: d["rssi"] for d in roster()} == {"a1": -48, "p9": None},
            timeout=20,
        )
        shown = {str(table.get_row(k)[0]): str(table.get_row(k)[2]) for k in table.rows}
        assert shown == {d["id"]: d["state"] for d in roster()}

        # a board going away is announced
        fleet.publish("devices/a1/status", "offline", retain=True)
        await wait_until(pilot, lambda: any("a1 is offline" in m for m in said), timeout=20)

        # forgetting it clears its retained status on the broker
        table.move_cursor(row=table.get_row_index("generic:a1"))
        await pilot.press("delete")
        await pilot.press("y")
        await wait_until(pilot, lambda: table.row_count == 1)
        late = client_factory(mosquitto.port, subscribe="devices/#")
        await pilot.pause(0.5)
        assert late.received("devices/a1/status") == []


def test_simulated_mixed_fleet_and_churn(mosquitto):
    from services.simulator import Fleet

    hub = Hub(config_for(mosquitto.port))
    hub.start()
    fleet = Fleet(config_for(mosquitto.port).broker, devices=4, rate=5, flavour="mixed")
    fleet.start()
    try:
        expected = {"generic:esp32-1", "tasmota:tasmota-2", "esphome:esphome-3", "homie:homie-4"}
        wait_for(lambda: {k for k, s in states(hub).items() if s == "online"} == expected, 20)
        tasmota = next(d for d in fleet.devices if d.id == "tasmota-2")
        tasmota.drop()  # no DISCONNECT: the broker publishes "Offline", then it reconnects
        wait_for(lambda: states(hub)["tasmota:tasmota-2"] == "offline", 20)
        wait_for(lambda: states(hub)["tasmota:tasmota-2"] == "online", 20)
    finally:
        fleet.stop()
        hub.stop()


async def test_command_box_publishes_to_the_device_command_topic(mosquitto, client_factory):
    from textual.widgets import Input

    from tui.screens.device import DeviceModal

    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        board = client_factory(mosquitto.port, subscribe="cmnd/#")
        board.publish("tele/plug-5/LWT", "Online", retain=True)
        board.publish("tele/plug-5/STATE", '{"UptimeSec": 10, "Wifi": {"Signal": -70}}')
        await pilot.press("2")
        table = app.screen.query_one(DeviceTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeviceModal))
        text = screen_text(app)
        assert "tele/plug-5/STATE" in text and "-70 dBm" in text
        assert app.screen.query_one("#command-topic", Input).value == "cmnd/plug-5/POWER"
        await pilot.press(*"TOGGLE", "enter")
        assert board.wait_for("cmnd/plug-5/POWER") == b"TOGGLE"
        await wait_until(pilot, lambda: "✔" in screen_text(app))
