"""Simulated ESP32 boards that speak the generic convention of DESIGN.md.

Each device is its own MQTT client with a Last Will on `devices/<id>/status`, so the
broker announces it `offline` when it vanishes, as a real board's would.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .config import BrokerConfig


class SimulatedDevice:
    def __init__(self, device_id: str, cfg: BrokerConfig, seed: int = 0) -> None:
        self.id = device_id
        self.cfg = cfg
        self._rng = random.Random(seed)
        self._started = time.monotonic()
        self._ip = f"192.168.1.{20 + seed % 200}"
        self.base_temp = 18 + self._rng.random() * 8
        self.led = 0
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
        self.client.will_set(self.topic("status"), b"offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def topic(self, leaf: str) -> str:
        return f"devices/{self.id}/{leaf}"

    def _on_connect(self, client: mqtt.Client, _u, _f, reason, _p) -> None:
        if reason.is_failure:
            return
        client.publish(self.topic("status"), b"online", qos=1, retain=True)
        client.subscribe(self.topic("cmd"))

    def _on_message(self, client: mqtt.Client, _u, msg: mqtt.MQTTMessage) -> None:
        try:
            cmd = json.loads(msg.payload)
            if isinstance(cmd, dict) and "led" in cmd:
                self.led = int(bool(cmd["led"]))
        except (ValueError, TypeError):
            pass
        client.publish(self.topic("state"), json.dumps({"led": self.led}), qos=0)

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
        self.client.publish(self.topic("telemetry"), json.dumps(self.telemetry()), qos=0)

    def stop(self, clean: bool = True) -> None:
        if clean:
            self.client.publish(self.topic("status"), b"offline", qos=1, retain=True)
            time.sleep(0.05)
            self.client.disconnect()
        self.client.loop_stop()


class Fleet:
    """N simulated devices, each publishing telemetry `rate` times a second."""

    def __init__(self, cfg: BrokerConfig, devices: int = 4, rate: float = 0.5) -> None:
        self.devices = [SimulatedDevice(f"esp32-{i + 1}", cfg, seed=i) for i in range(devices)]
        self.rate = rate
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
        while not self._stop.is_set():
            for d in self.devices:
                if self._stop.wait(step):
                    return
                d.publish_telemetry()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        for d in self.devices:
            d.stop()
