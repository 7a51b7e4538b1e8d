"""Apps with fixed data and a frozen clock, for snapshots and screenshots."""

from __future__ import annotations

import io
import json
import math
import tempfile

from services.camera import TestPattern
from services.config import parse_config
from services.events import ConnectionChanged, ConnectionState
from services.hub import Hub
from tui.app import PicentralApp
from tui.messages import HubEvent

T0 = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC


def fixed_hub() -> Hub:
    now = [T0]
    cfg = parse_config(
        {
            "broker": {"host": "127.0.0.1", "port": 1883, "embedded": "never"},
            "camera": {"backend": "testpattern", "capture_dir": tempfile.mkdtemp(prefix="pc-")},
        }
    )
    hub = Hub(cfg, clock=lambda: now[0])
    add = hub.store.add

    def at(seconds: float) -> None:
        now[0] = T0 + seconds

    at(0)
    add("$SYS/broker/version", b"mosquitto version 2.0.11", 0, True)
    add("$SYS/broker/clients/connected", b"4", 0, True)
    add("$SYS/broker/uptime", b"86400 seconds", 0, True)
    add("picentral/status", b"online", 1, True)
    for i, dev in enumerate(("esp32-1", "esp32-2", "esp32-cam")):
        add(f"devices/{dev}/status", b"online", 1, True)
        at(1 + i * 0.1)
    add("devices/esp32-cam/image", b"\xff\xd8\xff\xe0" + bytes(48_000), 0, False)
    for step in range(40):
        at(2 + step * 5)
        for i, dev in enumerate(("esp32-1", "esp32-2")):
            temp = 21 + i * 2 + 1.5 * math.sin(step / 5 + i)
            body = {
                "temp": round(temp, 2),
                "rssi": -58 - (step + i) % 7,
                "ip": f"192.168.1.{21 + i}",
                "uptime": 3600 + step * 5,
                "heap": 181_000 - step * 13,
                "fw": "1.4.2",
            }
            add(f"devices/{dev}/telemetry", json.dumps(body).encode(), 0, False)
        add("greenhouse/soil/moisture", f"{40 + step % 9 * 0.7:.1f} %".encode(), 0, False)
    add("devices/esp32-1/cmd", b'{"led":1}', 1, False)
    add("garden/valve/state", b"[bold red]OPEN[/] \x1b[31m", 0, True)
    # a mixed fleet: one board of each convention, one gone, one silent
    at(205)
    add("tele/plug-kitchen/LWT", b"Online", 1, True)
    add("tele/plug-kitchen/STATE", b'{"UptimeSec": 93600, "Wifi": {"Signal": -67}}', 0, False)
    add("tele/plug-garage/LWT", b"Offline", 1, True)
    add("porch-light/status", b"online", 1, True)
    add("homie/boiler/$state", b"ready", 1, True)
    add("homie/boiler/$name", b"Boiler room", 1, True)
    add("homie/5/attic-fan/$state", b"sleeping", 1, True)
    add(
        "homeassistant/switch/pump/config",
        b'{"avty_t": "pump/avail", "cmd_t": "pump/set", "dev": {"ids": ["pump-01"], '
        b'"name": "Garden pump", "sw": "2.1"}}',
        0,
        True,
    )
    add("pump/avail", b"online", 1, True)
    hub.devices.step()
    at(300)  # esp32-cam spoke last at 1.2 s (status and a frame): stale by now
    add("devices/esp32-1/telemetry", b'{"temp": 22.6, "rssi": -61}', 0, False)
    hub.devices.step()
    # the camera: a test pattern on the frozen clock, one capture, an ESP32-CAM frame
    hub.camera.open()
    hub.camera.capture("key")
    frame = io.BytesIO()
    TestPattern(lambda: T0).image(320, 240).save(frame, "JPEG", quality=80)
    add("esp32/cam1/image", frame.getvalue(), 0, False)
    return hub


def fixed_app() -> PicentralApp:
    """The real app with fixed data, not connected to anything."""
    return PicentralApp(fixed_hub(), start_hub=False)


async def settle(pilot, topic: str | None = "devices/esp32-1/telemetry") -> None:
    """Header frozen as connected, a topic selected, no blinking cursors."""
    from textual.widgets import Input, TextArea

    from tui.widgets.message_log import MessageLog

    app = pilot.app
    app.post_message(HubEvent(ConnectionChanged(ConnectionState("connected"))))
    await pilot.pause(0.3)
    if topic:
        app.traffic.show_topic(topic)
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for widget in app.screen.query(TextArea):
        widget.cursor_blink = False
    # the log follows its newest row after a refresh: wait until it got there
    log = app.traffic.query_one(MessageLog)
    for _ in range(100):
        await pilot.pause(0.05)
        if log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y:
            break
    await pilot.pause(0.2)
