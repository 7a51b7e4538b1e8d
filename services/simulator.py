"""Simulated boards that speak the presence conventions of DESIGN.md.

Each device is its own MQTT client with a Last Will, so the broker announces it gone when
it vanishes, as a real board's would. One small class per firmware flavour.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .config import BrokerConfig

FLAVOURS = ("generic", "tasmota", "esphome", "homie")


class Flavour:
    """What one firmware publishes: its Last Will, its hello, its telemetry, its commands."""

    def __init__(self, device_id: str) -> None:
        self.id = device_id

    def will(self) -> tuple[str, bytes]:
        raise NotImplementedError

    def hello(self, t: dict) -> list[tuple[str, bytes]]:
        raise NotImplementedError

    def telemetry(self, t: dict) -> list[tuple[str, bytes]]:
        raise NotImplementedError

    def goodbye(self) -> list[tuple[str, bytes]]:
        topic, payload = self.will()
        return [(topic, payload)]

    def command_filter(self) -> str:
        raise NotImplementedError

    def on_command(self, topic: str, payload: bytes, state: dict) -> list[tuple[str, bytes]]:
        return []


class Generic(Flavour):
    def will(self) -> tuple[str, bytes]:
        return f"devices/{self.id}/status", b"offline"

    def hello(self, t: dict) -> list[tuple[str, bytes]]:
        return [(f"devices/{self.id}/status", b"online")]

    def telemetry(self, t: dict) -> list[tuple[str, bytes]]:
        return [(f"devices/{self.id}/telemetry", json.dumps(t).encode())]

    def command_filter(self) -> str:
        return f"devices/{self.id}/cmd"

    def on_command(self, topic: str, payload: bytes, state: dict) -> list[tuple[str, bytes]]:
        try:
            cmd = json.loads(payload)
        except ValueError:
            return []
        if isinstance(cmd, dict) and "led" in cmd:
            state["led"] = int(bool(cmd["led"]))
        return [(f"devices/{self.id}/state", json.dumps({"led": state["led"]}).encode())]


class Tasmota(Flavour):
    def will(self) -> tuple[str, bytes]:
        return f"tele/{self.id}/LWT", b"Offline"

    def hello(self, t: dict) -> list[tuple[str, bytes]]:
        return [
            (f"tele/{self.id}/LWT", b"Online"),
            (
                f"tele/{self.id}/INFO1",
                json.dumps(
                    {"Info1": {"Module": "Sonoff Basic", "Version": "14.3.0(tasmota)"}}
                ).encode(),
            ),
            (
                f"tele/{self.id}/INFO2",
                json.dumps({"Info2": {"Hostname": self.id, "IPAddress": t["ip"]}}).encode(),
            ),
        ]

    def telemetry(self, t: dict) -> list[tuple[str, bytes]]:
        state = {
            "UptimeSec": t["uptime"],
            "POWER": "ON",
            "Wifi": {"RSSI": min(100, 2 * (t["rssi"] + 100)), "Signal": t["rssi"]},
        }
        return [(f"tele/{self.id}/STATE", json.dumps(state).encode())]

    def command_filter(self) -> str:
        return f"cmnd/{self.id}/+"

    def on_command(self, topic: str, payload: bytes, state: dict) -> list[tuple[str, bytes]]:
        if topic.endswith("/POWER"):
            state["power"] = payload.decode(errors="replace").upper() or state.get("power", "ON")
            return [(f"stat/{self.id}/POWER", state["power"].encode())]
        return []


class ESPHome(Flavour):
    def will(self) -> tuple[str, bytes]:
        return f"{self.id}/status", b"offline"

    def hello(self, t: dict) -> list[tuple[str, bytes]]:
        return [(f"{self.id}/status", b"online"), (f"{self.id}/switch/relay/state", b"OFF")]

    def telemetry(self, t: dict) -> list[tuple[str, bytes]]:
        return [
            (f"{self.id}/sensor/temperature/state", f"{t['temp']:.1f}".encode()),
            (f"{self.id}/sensor/wifi_signal/state", str(t["rssi"]).encode()),
        ]

    def command_filter(self) -> str:
        return f"{self.id}/switch/relay/command"

    def on_command(self, topic: str, payload: bytes, state: dict) -> list[tuple[str, bytes]]:
        return [(f"{self.id}/switch/relay/state", payload.upper()[:8])]


class Homie(Flavour):
    def will(self) -> tuple[str, bytes]:
        return f"homie/{self.id}/$state", b"lost"

    def hello(self, t: dict) -> list[tuple[str, bytes]]:
        base = f"homie/{self.id}"
        return [
            (f"{base}/$homie", b"4.0.0"),
            (f"{base}/$state", b"init"),
            (f"{base}/$name", self.id.replace("-", " ").title().encode()),
            (f"{base}/$localip", t["ip"].encode()),
            (f"{base}/$nodes", b"sensor"),
            (f"{base}/$state", b"ready"),
        ]

    def telemetry(self, t: dict) -> list[tuple[str, bytes]]:
        return [(f"homie/{self.id}/sensor/temperature", f"{t['temp']:.1f}".encode())]

    def goodbye(self) -> list[tuple[str, bytes]]:
        return [(f"homie/{self.id}/$state", b"disconnected")]

    def command_filter(self) -> str:
        return f"homie/{self.id}/+/+/set"


_FLAVOURS: dict[str, type[Flavour]] = {
    "generic": Generic,
    "tasmota": Tasmota,
    "esphome": ESPHome,
    "homie": Homie,
}


class SimulatedDevice:
    def __init__(self, device_id: str, cfg: BrokerConfig, flavour: str = "generic", seed: int = 0):
        self.id = device_id
        self.cfg = cfg
        self.flavour = _FLAVOURS[flavour](device_id)
        self._rng = random.Random(seed)
        self._started = time.monotonic()
        self._ip = f"192.168.1.{20 + seed % 200}"
        self.base_temp = 18 + self._rng.random() * 8
        self.state: dict = {"led": 0}
        proto = mqtt.MQTTv5 if cfg.protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}", protocol=proto
        )
        if cfg.username:
            self.client.username_pw_set(cfg.username, cfg.password.get_secret_value() or None)
        if cfg.tls:
            self.client.tls_set(ca_certs=cfg.ca_file or None)
            if cfg.tls_insecure:
                self.client.tls_insecure_set(True)
        will_topic, will_payload = self.flavour.will()
        self.client.will_set(will_topic, will_payload, qos=1, retain=True)
        self.client.reconnect_delay_set(1, 4)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _send(self, messages: list[tuple[str, bytes]]) -> None:
        """Presence and device attributes retained (as real firmware does), readings not."""
        presence = self.flavour.will()[0]
        for topic, payload in messages:
            retain = topic == presence or "/$" in topic or topic.endswith(("/INFO1", "/INFO2"))
            self.client.publish(topic, payload, qos=1 if retain else 0, retain=retain)

    def _on_connect(self, client: mqtt.Client, _u, _f, reason, _p) -> None:
        if reason.is_failure:
            return
        self._send(self.flavour.hello(self.telemetry()))
        client.subscribe(self.flavour.command_filter())

    def _on_message(self, client: mqtt.Client, _u, msg: mqtt.MQTTMessage) -> None:
        # only its own commands (seen in the demo: the embedded broker once delivered other
        # devices' topics to a board after churn)
        if not mqtt.topic_matches_sub(self.flavour.command_filter(), msg.topic):
            return
        with contextlib.suppress(Exception):  # a board ignores what it does not understand
            self._send(self.flavour.on_command(msg.topic, msg.payload, self.state))

    def start(self) -> None:
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=15)
        self.client.loop_start()

    def telemetry(self) -> dict:
        t = time.monotonic() - self._started
        return {
            "temp": round(self.base_temp + 2 * math.sin(t / 30) + self._rng.gauss(0, 0.1), 2),
            "rssi": int(-55 - 10 * abs(math.sin(t / 50)) - self._rng.random() * 5),
            "ip": self._ip,
            "uptime": int(t),
            "heap": 180_000 + self._rng.randrange(-5000, 5000),
            "fw": "1.4.2",
        }

    def publish_telemetry(self) -> None:
        self._send(self.flavour.telemetry(self.telemetry()))

    def drop(self) -> None:
        """Vanish without DISCONNECT (power cut, Wi-Fi gone): the broker publishes the Will;
        paho reconnects after its backoff and the board says hello again."""
        sock = self.client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self, clean: bool = True) -> None:
        if clean:
            infos = [
                self.client.publish(t, p, qos=1, retain=True) for t, p in self.flavour.goodbye()
            ]
            deadline = time.monotonic() + 1
            while not all(i.is_published() for i in infos) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.client.disconnect()
        self.client.loop_stop()


class Fleet:
    """N simulated devices, each publishing telemetry `rate` times a second; with `churn`,
    now and then one drops off without a clean disconnect and comes back."""

    def __init__(
        self,
        cfg: BrokerConfig,
        devices: int = 4,
        rate: float = 0.5,
        flavour: str = "generic",
        churn: bool = False,
        seed: int = 0,
    ) -> None:
        names = {"generic": "esp32", "tasmota": "tasmota", "esphome": "esphome", "homie": "homie"}
        self.devices = []
        for i in range(devices):
            kind = FLAVOURS[i % len(FLAVOURS)] if flavour == "mixed" else flavour
            self.devices.append(SimulatedDevice(f"{names[kind]}-{i + 1}", cfg, kind, seed=seed + i))
        self.rate = rate
        self.churn = churn
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="picentral-simulator", daemon=True)

    def start(self) -> None:
        for d in self.devices:
            d.start()
        self._thread.start()

    def _run(self) -> None:
        period = 1.0 / self.rate if self.rate > 0 else 3600
        # spread devices over the period so the traffic looks like a real fleet
        step = period / max(1, len(self.devices))
        next_churn = time.monotonic() + 5
        while not self._stop.is_set():
            for d in self.devices:
                if self._stop.wait(step):
                    return
                d.publish_telemetry()
                if self.churn and time.monotonic() >= next_churn:
                    self._rng.choice(self.devices).drop()
                    next_churn = time.monotonic() + self._rng.uniform(5, 15)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        for d in self.devices:
            d.stop()
