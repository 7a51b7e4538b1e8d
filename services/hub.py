"""The Hub: builds, starts and stops every service. The TUI and `serve` both run one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_state_path

from .broker import EmbeddedBroker, port_is_listening
from .camera import CameraService
from .config import Config
from .device_service import DeviceService
from .events import ConnectionChanged, Notice
from .health_service import HealthService
from .mqtt_process import MqttProcess
from .store import MessageStore
from .tunnels import TunnelService

log = logging.getLogger(__name__)


class Hub:
    def __init__(
        self,
        config: Config,
        *,
        on_event: Callable[[object], None] | None = None,
        embedded: EmbeddedBroker | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.now = clock  # the hub's time: message stamps, ages, staleness
        self._on_event = on_event
        self.store = MessageStore(
            history_per_topic=config.ui.history_per_topic, log_size=config.ui.log_lines, clock=clock
        )
        self.embedded = embedded  # a broker started by the caller (`demo`) is ours to stop
        self.mqtt = MqttProcess(
            config.broker, self.store, status_topic=self.topic("status"), on_event=self.emit
        )
        self.devices = DeviceService(
            config.devices,
            self.store,
            base_topic=config.hub.base_topic,
            publish=self._publish_retained,
            on_event=self.emit,
            clock=clock,
        )
        self.camera = CameraService(
            config.camera,
            publish=self._publish_quietly,
            base_topic=config.hub.base_topic,
            on_event=self.emit,
            clock=clock,
        )
        self.health = HealthService(
            config,
            self.store,
            publish=self._publish_retained,
            topic=self.topic("services"),
            on_event=self.emit,
            clock=clock,
        )
        self.tunnels = TunnelService(
            config.tunnels,
            broker=config.broker,
            state_dir=Path(user_state_path("picentral", appauthor=False)),
            anonymous_broker=self._broker_may_be_anonymous,
            publish=self._publish_retained,
            topic=self.topic("tunnels"),
            on_event=self.emit,
        )
        self.mqtt.on_topic(self.topic("camera", "capture"), lambda _p: self.camera.trigger("mqtt"))
        self.mqtt.on_topic(self.topic("tunnels", "set"), self._tunnel_command)
        self._started = threading.Event()

    def _publish_quietly(self, topic: str, payload: bytes) -> object:
        """Camera frames and meta: QoS 1 (kept while reconnecting), not retained, no toast."""
        return self.mqtt.publish(topic, payload, qos=1, report=False)

    def _publish_retained(self, topic: str, payload: bytes) -> bool:
        """Hub state topics: only while connected (the next change publishes anew)."""
        if not self.mqtt.connected:
            return False
        result = self.mqtt.publish(topic, payload, qos=1, retain=True, report=False)
        return result.outcome != "failed"

    def _broker_may_be_anonymous(self) -> bool:
        """From the last health round; not known yet counts as yes (ask, to be safe)."""
        exposure = self.health.report.exposure
        return exposure is None or exposure.anonymous == "accepted"

    def _tunnel_command(self, payload: bytes) -> None:
        done = self.tunnels.command(payload, self.config.control.allow_tunnel_commands)
        log.info("%s: %s", self.topic("tunnels", "set"), done)
        self.emit(Notice(f"tunnel command: {done}", "information"))

    def topic(self, *parts: str) -> str:
        return "/".join((self.config.hub.base_topic, *parts))

    def emit(self, event: object) -> None:
        if isinstance(event, ConnectionChanged) and event.state.status == "connected":
            self.tunnels.publish_states()  # retained state topics are published while connected
        if self._on_event is not None:
            self._on_event(event)

    def set_event_sink(self, sink: Callable[[object], None] | None) -> None:
        self._on_event = sink

    @property
    def broker_address(self) -> str:
        return self.config.broker.address

    def _wants_embedded(self) -> bool:
        b = self.config.broker
        if b.embedded == "never":
            return False
        if b.embedded == "always":
            return True
        return (
            b.is_loopback
            and b.transport == "tcp"
            and not b.tls
            and not port_is_listening(b.host, b.port)
        )

    def start(self, *, autostart_tunnels: bool = False) -> None:
        """Blocking (probes the port, may start a broker): call it off the UI thread.
        `picentral serve` starts the tunnels marked `autostart`."""
        if self.embedded is None and self._wants_embedded():
            b = self.config.broker
            self.embedded = EmbeddedBroker(b.host, b.port)
            self.embedded.start()
            self.mqtt.cfg = b.model_copy(update={"protocol": "3.1.1"})  # amqtt speaks 3.1.1 only
            self.emit(Notice(f"nothing listened on {b.host}:{b.port}: embedded broker started"))
        self.mqtt.start()
        self.devices.start()
        self.camera.start()
        self.health.start()
        _ = self.tunnels.ngrok_path  # imports pyngrok here, off the UI thread
        if autostart_tunnels:
            self.tunnels.start_autostart()
        self._started.set()

    def stop(self) -> None:
        if self._started.is_set():
            self.devices.stop()
            self.camera.stop()
            self.health.stop()
            self.tunnels.stop_all()
            self.mqtt.stop()
        if self.embedded is not None:
            self.embedded.stop()
        self._started.clear()
