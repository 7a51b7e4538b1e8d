"""Apps with fixed data and a frozen clock, for snapshots and screenshots."""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path

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
            # an agent that exists (never started here): no machine's path on screen
            "tunnels": {"ngrok_path": str(Path(__file__).parent / "doubles" / "ngrok")},
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
    fixed_health(hub)
    return hub


def fixed_health(hub: Hub) -> None:
    """A Pi 4 on a normal day: Mosquitto open to the LAN without a password, Node-RED up,
    one tunnel online."""
    from dataclasses import replace

    from services.health import ServiceStatus
    from services.health_service import BrokerExposure, HealthReport, exposure_warning

    exposure = BrokerExposure(["0.0.0.0", "::"], True, "accepted")
    hub.health.report = HealthReport(
        statuses=[
            ServiceStatus(
                "mosquitto",
                "up",
                "mosquitto: active (running) · 127.0.0.1:1883 open (1 ms)",
                T0 - 86_000,
            ),
            ServiceStatus(
                "node-red",
                "up",
                "nodered: active (running) · HTTP 200 in 9 ms",
                T0 - 3_600,
                {"node_red": "Node-RED 4.1.15 · 3 flows, 41 nodes · flows running"},
            ),
        ],
        broker={
            "version": "mosquitto version 2.0.11",
            "uptime": "86400 seconds",
            "clients": "6",
            "received_per_min": "2460.5",
            "sent_per_min": "4920.0",
            "retained": "38",
            "dropped": "0",
        },
        exposure=replace(exposure, warning=exposure_warning(exposure, 1883)),
        node_red={
            "reachable": True,
            "admin_auth": False,
            "version": "4.1.15",
            "flows": 3,
            "nodes": 41,
            "disabled_flows": 0,
            "flows_state": "running",
        },
        system={
            "load": [0.42, 0.35, 0.31],
            "cpus": 4,
            "memory_used_pct": 38.2,
            "memory_available_mb": 2_410,
            "disk_free_mb": 21_700,
            "disk_used_pct": 27.5,
            "temperature_c": 51.6,
            "throttled": [],
            "uptime_s": 3 * 86_400 + 7_200,
        },
        cpu_history=[8 + 6 * math.sin(i / 9) ** 2 + (i % 7) for i in range(150)],
        rate_history=[40 + 30 * math.sin(i / 15) ** 2 for i in range(150)],
        rounds=30,
    )
    tunnels = hub.tunnels._states
    tunnels["node-red"] = replace(
        tunnels["node-red"], state="online", public_url="https://3f9a-81-40-12-7.ngrok-free.app"
    )


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
