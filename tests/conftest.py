"""Fixtures: real Mosquitto brokers, real MQTT clients, and helpers to read the screen."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from services.config import Config, parse_config

from .brokers import Mosquitto
from .certs import make_certs


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, logs or timezone leak into a test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("PICENTRAL_CONFIG", raising=False)
    monkeypatch.delenv("PICENTRAL_BROKER_PASSWORD", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path, ["allow_anonymous true"]).start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_password(tmp_path: Path) -> Iterator[Mosquitto]:
    pwfile = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(pwfile), "pi", "s3cret-Pa55"],
        check=True,
        capture_output=True,
    )
    pwfile.chmod(0o600)
    broker = Mosquitto(tmp_path, ["allow_anonymous false", f"password_file {pwfile}"]).start()
    yield broker
    broker.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    return make_certs(tmp_path)


@pytest.fixture
def mosquitto_tls(tmp_path: Path, tls_files: dict[str, Path]) -> Iterator[Mosquitto]:
    broker = Mosquitto(
        tmp_path,
        [
            "allow_anonymous true",
            f"cafile {tls_files['ca']}",
            f"certfile {tls_files['server_cert']}",
            f"keyfile {tls_files['server_key']}",
            "require_certificate true",
        ],
    ).start()
    yield broker
    broker.stop()


def config_for(port: int, **broker: object) -> Config:
    data: dict = {
        "broker": {"host": "127.0.0.1", "port": port, "embedded": "never", **broker},
        "ui": {"refresh_hz": 20},
    }
    return parse_config(data, source="test")


class Client:
    """A plain paho client, as an ESP32 or mosquitto_sub would be."""

    def __init__(self, port: int, protocol: int = mqtt.MQTTv311, subscribe: str | None = None):
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if subscribe:
            self.client.subscribe(subscribe, qos=2)
            assert self._subscribed.wait(5), "subscription not acknowledged"

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(msg)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(5)
        return info

    def received(self, topic: str) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.messages if m.topic == topic]

    def wait_for(self, topic: str, timeout: float = 20.0) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(topic)
            if got:
                return got[-1]
            time.sleep(0.02)
        raise AssertionError(f"nothing received on {topic!r} within {timeout} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def client_factory() -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(port: int, **kw) -> Client:
        c = Client(port, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def screen_text(app) -> str:
    """What the terminal shows, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll `predicate` until true (for tests without an app)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


async def wait_until(pilot, predicate: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def mosquitto_ws(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker with a plain listener and a websockets listener on a second free port."""
    from .brokers import free_port

    ws_port = free_port()
    broker = Mosquitto(
        tmp_path,
        [
            "allow_anonymous true",
            f"listener {ws_port} 127.0.0.1",
            "protocol websockets",
            "allow_anonymous true",
        ],
    ).start()
    broker.ws_port = ws_port  # type: ignore[attr-defined]
    yield broker
    broker.stop()
