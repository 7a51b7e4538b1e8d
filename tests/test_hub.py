"""The Hub and its commands: embedded broker, `serve`, `simulate`, status topic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from services.broker import EmbeddedBroker, EmbeddedBrokerError, port_is_listening
from services.hub import Hub
from services.simulator import Fleet

from .brokers import free_port, wait_listening
from .conftest import Client, config_for, wait_for
from .test_config import REPO


def test_embedded_broker_serves_a_real_paho_client():
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port)
    broker.start()
    try:
        sub = Client(port, subscribe="room/#")
        pub = Client(port)
        pub.publish("room/light", "on", qos=1)
        assert sub.wait_for("room/light") == b"on"
        sub.close()
        pub.close()
    finally:
        broker.stop()
    assert not port_is_listening("127.0.0.1", port)


def test_embedded_broker_binds_loopback_only():
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port)
    broker.start()
    try:
        listening = {
            c.laddr.ip
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        assert listening == {"127.0.0.1"}
    finally:
        broker.stop()


def test_hub_starts_the_embedded_broker_when_nothing_listens():
    port = free_port()
    cfg = config_for(port, embedded="auto")
    notices: list[object] = []
    hub = Hub(cfg, on_event=notices.append)
    hub.start()
    try:
        assert hub.embedded is not None
        wait_for(lambda: hub.mqtt.connected)
        assert hub.mqtt.cfg.protocol == "3.1.1"  # amqtt speaks 3.1.1 only
        assert any("embedded broker started" in getattr(n, "text", "") for n in notices)
        sub = Client(port, subscribe="picentral/status")
        assert sub.wait_for("picentral/status") == b"online"
        sub.close()
    finally:
        hub.stop()


def test_hub_uses_a_running_broker_instead(mosquitto):
    hub = Hub(config_for(mosquitto.port, embedded="auto"))
    hub.start()
    try:
        assert hub.embedded is None
        wait_for(lambda: hub.mqtt.connected)
    finally:
        hub.stop()


def test_status_is_online_then_offline_on_clean_stop(mosquitto):
    hub = Hub(config_for(mosquitto.port))
    hub.start()
    wait_for(lambda: hub.mqtt.connected)
    watcher = Client(mosquitto.port, subscribe="picentral/status")
    assert watcher.wait_for("picentral/status") == b"online"
    hub.stop()
    wait_for(lambda: watcher.received("picentral/status")[-1:] == [b"offline"])
    watcher.close()


def start_serve(port: int, tmp_path) -> tuple[subprocess.Popen, Client]:
    """`picentral serve` against the broker, and a client watching its status (online)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[broker]\nport = {port}\nembedded = "never"\nkeepalive = 5\n'
        f'[camera]\nbackend = "testpattern"\ncapture_dir = "{tmp_path / "caps"}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(cfg), "serve"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    watcher = Client(port, subscribe="picentral/status")
    wait_for(lambda: watcher.received("picentral/status")[-1:] == [b"online"], timeout=20)
    return proc, watcher


def test_status_last_will_fires_when_the_hub_dies(mosquitto, tmp_path):
    proc, watcher = start_serve(mosquitto.port, tmp_path)
    try:
        proc.kill()  # no DISCONNECT: the broker publishes the Last Will
        wait_for(lambda: watcher.received("picentral/status")[-1:] == [b"offline"], timeout=20)
    finally:
        proc.kill()
        watcher.close()


def test_serve_stops_cleanly_on_sigterm(mosquitto, tmp_path):
    proc, watcher = start_serve(mosquitto.port, tmp_path)
    try:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        wait_for(lambda: watcher.received("picentral/status")[-1:] == [b"offline"])
        err = proc.stderr.read()
        assert "connected" in err and "Traceback" not in err
    finally:
        proc.kill()
        watcher.close()


def test_simulated_fleet_speaks_the_generic_convention(mosquitto):
    cfg = config_for(mosquitto.port).broker
    watcher = Client(mosquitto.port, subscribe="devices/#")
    fleet = Fleet(cfg, devices=3, rate=5)
    fleet.start()
    try:
        for i in (1, 2, 3):
            assert watcher.wait_for(f"devices/esp32-{i}/status") == b"online"
            telemetry = json.loads(watcher.wait_for(f"devices/esp32-{i}/telemetry"))
            assert {"rssi", "ip", "uptime", "heap", "fw"} <= telemetry.keys()
        watcher.publish("devices/esp32-2/cmd", '{"led": 1}')
        assert json.loads(watcher.wait_for("devices/esp32-2/state")) == {"led": 1}
    finally:
        fleet.stop()
    wait_for(lambda: watcher.received("devices/esp32-1/status")[-1:] == [b"offline"])
    watcher.close()


def test_simulate_command_runs_against_the_configured_broker(mosquitto, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[broker]\nport = {mosquitto.port}\nprotocol = "3.1.1"\n')
    watcher = Client(mosquitto.port, subscribe="devices/#")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--config",
            str(cfg),
            "simulate",
            "--devices",
            "2",
            "--rate",
            "10",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        watcher.wait_for("devices/esp32-2/telemetry", timeout=20)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        watcher.close()


def test_embedded_port_conflict_is_reported(mosquitto):
    broker = EmbeddedBroker("127.0.0.1", mosquitto.port)
    with pytest.raises(EmbeddedBrokerError, match=f"127.0.0.1:{mosquitto.port}"):
        broker.start(timeout=5)
    wait_listening(mosquitto.port)  # mosquitto is untouched


def test_serve_logs_devices_and_captures(mosquitto, tmp_path):
    proc, watcher = start_serve(mosquitto.port, tmp_path)
    board = Client(mosquitto.port)
    try:
        board.publish("devices/b7/status", "online")
        board.publish("picentral/camera/capture", "button")
        time.sleep(1.5)  # the roster folds 4×/s; the capture is a test pattern here
        board.publish("devices/b7/status", "offline")
        time.sleep(1.0)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        err = proc.stderr.read()
        assert "device b7 (generic): online → offline" in err
        assert "captured " in err and "(mqtt)" in err
    finally:
        proc.kill()
        board.close()
        watcher.close()
