"""The picentral App: pulls from the Hub on a timer and shows it."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from services.camera import CaptureDone, CaptureFailed
from services.device_service import DeviceChanged
from services.devices import Device, device_topics, presence_topics
from services.events import ConnectionChanged, Notice, PublishResult
from services.health_service import ServiceChanged
from services.hub import Hub
from services.payload import literal
from services.store import RateMeter
from services.tunnels import TunnelChanged

from .graphics import Picture, halfblock
from .messages import HubEvent
from .screens.camera import CameraScreen
from .screens.devices import DevicesScreen
from .screens.help import HelpModal
from .screens.publish import PublishModal, PublishRequest
from .screens.services import ServicesScreen
from .screens.traffic import TrafficScreen
from .screens.tunnels import TunnelsModal
from .widgets.broker_header import BrokerHeader

# Log lines one tick may add: at 10 Hz that is 400 lines/s, more than anyone reads; the
# rest is counted in a "… N more messages" line (the tree and counts have every message).
RECENT_PER_TICK = 40
# Under a flood nobody reads 10 frames a second, and every frame drawn is CPU (and GIL)
# taken from paho's thread: above FLOOD_RATE the screen redraws FLOOD_HZ times a second.
# Keys are still handled at once.
FLOOD_RATE = 2000
FLOOD_HZ = 3


class PicentralApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "picentral"
    BINDINGS = [
        Binding("1", "show('traffic')", "Traffic"),
        Binding("2", "show('devices')", "Devices"),
        Binding("3", "show('camera')", "Camera"),
        Binding("4", "show('services')", "Services"),
        Binding("t", "tunnels", "Tunnels"),
        Binding("p", "publish", "Publish"),
        Binding("c", "capture", "Capture"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self, hub: Hub, *, start_hub: bool = True, picture: tuple[Picture, str] | None = None
    ) -> None:
        super().__init__()
        self.hub = hub
        # how images are drawn: half-block cells unless the CLI found terminal graphics
        self.picture, self.picture_mode = picture or (halfblock, "half-block cells")
        self.start_hub = start_hub
        self.rate = RateMeter()
        self.connection = hub.mqtt.state  # as last reported
        self.flooded = False
        self.last_drain = 0.0
        self.published: list[PublishRequest] = []
        cfg = hub.config
        self.traffic = TrafficScreen(
            hub.store, log_lines=cfg.ui.log_lines, max_preview=cfg.ui.max_payload_preview
        )
        self.devices_screen = DevicesScreen(hub.devices)
        self.services_screen = ServicesScreen(hub)

    # --- lifecycle -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.install_screen(self.traffic, "traffic")
        self.install_screen(self.devices_screen, "devices")
        self.install_screen(CameraScreen(self.hub), "camera")
        self.install_screen(self.services_screen, "services")
        self.install_screen(HelpModal(), "help")  # built once: `?` opens it at once
        self.push_screen("traffic")
        self.hub.set_event_sink(lambda event: self.post_message(HubEvent(event)))
        if self.start_hub:
            self.start_services()
        self.set_interval(1 / self.hub.config.ui.refresh_hz, self.tick, name="drain")
        # Everything built so far (widgets, styles, modules) lives as long as the app: move
        # it out of the GC's sight. At a message flood paho allocates per message, and
        # collections that walk these objects cost 10-25% of the receive rate (measured).
        self.call_after_refresh(gc.freeze)

    @work(thread=True, group="hub", exclusive=True, exit_on_error=False)
    def start_services(self) -> None:
        self.hub.start()

    def on_unmount(self) -> None:
        self.hub.set_event_sink(None)
        self.hub.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed background job is reported."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{error}", title="picentral", severity="error", timeout=15)

    # --- the timer: the only path from the store to the screen ----------------------

    def tick(self) -> None:
        if not self.is_running or not self.traffic.is_mounted:  # shutting down
            return
        now = time.monotonic()
        if self.flooded and now - self.last_drain < 1 / FLOOD_HZ:
            return
        self.last_drain = now
        snap = self.hub.store.drain(RECENT_PER_TICK)
        rate = self.rate.sample(snap.total)
        self.flooded = rate > FLOOD_RATE
        with self.batch_update():
            self.traffic.apply(snap)
            if self.screen is self.devices_screen:
                self.devices_screen.refresh_roster()
            elif self.screen is self.services_screen:
                self.services_screen.refresh_health()
            for header in self.query_headers():
                header.address = self.hub.broker_address
                header.state = self.connection  # also for screens composed later
                header.total = snap.total
                header.rate = rate
                header.embedded = self.hub.embedded is not None
                header.capturing = self.hub.camera.capturing
                header.refresh()  # the "retry in N s" countdown

    def query_headers(self) -> Iterable[BrokerHeader]:
        for screen in self.screen_stack:
            yield from screen.query(BrokerHeader)

    def on_hub_event(self, message: HubEvent) -> None:
        event = message.event
        if isinstance(event, ConnectionChanged):
            self.connection = event.state
            for header in self.query_headers():
                header.state = event.state
        elif isinstance(event, PublishResult):
            self.report_publish(event)
        elif isinstance(event, Notice):
            self.notify(event.text, severity=event.severity)
        elif isinstance(event, CaptureDone):
            c = event.capture
            self.notify(
                f"{c.path.name} · {c.width}×{c.height} · {c.bytes:,} bytes",
                title=f"captured ({c.trigger})",
            )
        elif isinstance(event, CaptureFailed):
            self.notify(event.error, title=f"capture failed ({event.trigger})", severity="error")
        elif isinstance(event, ServiceChanged):
            st = event.status
            self.notify(
                f"{st.name} is {st.state}: {st.why}",
                title="service",
                severity="information" if st.state == "up" else "warning",
            )
        elif isinstance(event, TunnelChanged):
            t = event.tunnel
            if t.state == "online":
                self.notify(t.public_url, title=f"tunnel {t.name} online")
            elif t.state == "error":
                self.notify(t.error, title=f"tunnel {t.name}", severity="error", timeout=10)
        elif isinstance(event, DeviceChanged):
            d = event.device
            if d.state == "online":
                self.notify(f"{d.id} is back ({d.convention})", title="device online")
            else:
                self.notify(
                    f"{d.id} is {d.state} ({d.convention})", title="device lost", severity="warning"
                )

    # --- actions -------------------------------------------------------------------------

    def action_show(self, name: str) -> None:
        if self.screen is not self.get_screen(name):
            self.switch_screen(name)

    def action_tunnels(self) -> None:
        if not isinstance(self.screen, TunnelsModal):
            self.push_screen(TunnelsModal(self.hub.tunnels))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpModal):
            self.push_screen("help")

    def action_capture(self) -> None:
        if self.hub.camera.trigger("key"):
            self.notify(f"capturing with {self.hub.camera.reason}…", timeout=2)
        else:
            self.notify("a capture is already on its way", timeout=2)

    def action_publish(self) -> None:
        modal = PublishModal(
            topic=self.traffic.selected or "",
            presets=list(self.hub.config.publish.preset),
            history=self.published,
        )
        self.push_screen(modal, self.publish)

    def publish(self, request: PublishRequest | None) -> None:
        if request is None:
            return
        self.published = [p for p in self.published if p.topic != request.topic] + [request]
        result = self.hub.mqtt.publish(request.topic, request.payload, request.qos, request.retain)
        self.report_publish(result)

    def forget_device(self, device: Device) -> None:
        """Clear the device's retained messages on the broker and drop it from the roster."""
        store = self.hub.store
        topics = store.topics()
        presence = set(presence_topics(device, topics))
        for topic in device_topics(device, topics):
            last = store.last(topic)
            if topic in presence or (last is not None and last.retain):
                self.hub.mqtt.clear_retained(topic)
        self.hub.devices.forget(device.key)
        self.notify(f"{device.id} forgotten", title=device.convention)

    def clear_retained(self, topic: str) -> None:
        self.report_publish(self.hub.mqtt.clear_retained(topic), cleared=True)

    def report_publish(self, r: PublishResult, cleared: bool = False) -> None:
        topic = r.topic if len(r.topic) <= 60 else r.topic[:59] + "…"
        what = "retained message cleared" if cleared else r.outcome
        if r.outcome == "failed":
            self.notify(f"not published: {r.detail}", title=topic, severity="error")
        elif r.outcome == "queued":
            self.notify("queued — will be sent on reconnect", title=topic, severity="warning")
        elif r.outcome == "sent" and r.qos:
            self.notify(f"{what}, waiting for the broker's ack (QoS {r.qos})", title=topic)
        else:
            self.notify(f"{what} (QoS {r.qos})", title=topic)

    def notify(  # type: ignore[override]
        self, message: str, *, title: str = "", markup: bool = False, **kwargs
    ) -> None:
        """Notifications carry topics and broker texts: never parse them as markup."""
        text = literal(message, keep_newlines=True)
        super().notify(text, title=literal(title), markup=markup, **kwargs)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Publish", "Publish a message to a topic (p)", self.action_publish)
        yield SystemCommand(
            "Traffic",
            "Topic tree, payloads and the live log (1)",
            lambda: self.action_show("traffic"),
        )
        yield SystemCommand(
            "Devices", "The boards that are online (2)", lambda: self.action_show("devices")
        )
        yield SystemCommand(
            "Camera",
            "Live preview, other cameras, captures (3)",
            lambda: self.action_show("camera"),
        )
        yield SystemCommand("Capture", "Take a still now (c)", self.action_capture)
        yield SystemCommand(
            "Pause / resume the log",
            "Freeze the live log (space)",
            self.traffic.action_toggle_pause,
        )
        yield SystemCommand("Filter the log", "MQTT filter or text (/)", self.traffic.action_filter)
        yield SystemCommand(
            "Clear retained message",
            "Of the selected topic (delete)",
            self.traffic.action_clear_retained,
        )
        yield SystemCommand("Help", "Keys and what the header says (?)", self.action_help)
