"""The health service: probes on its own thread, a report the UI reads, a retained topic.

Every `services.interval_s` it probes each `[[services.check]]` (in parallel, each with
`timeout_s`), Node-RED's admin API, the broker's exposure, and the Pi; every 2 s it
samples the CPU and the message rate for the sparklines. The report is replaced whole, so
readers need no lock; state changes are reported as events.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import psutil

from .config import Config, ServiceCheck
from .health import (
    Probe,
    ServiceStatus,
    broker_figures,
    combine,
    describe_node_red,
    listening_addresses,
    mqtt_answer,
    node_red_info,
    probe_http,
    probe_systemd,
    probe_tcp,
    reachable_from_others,
    system_figures,
)
from .store import MessageStore

log = logging.getLogger(__name__)

SAMPLE_S = 2.0
HISTORY = 150  # samples: 5 minutes at SAMPLE_S


@dataclass(frozen=True, slots=True)
class BrokerExposure:
    addresses: list[str]  # where something listens on the broker's port
    reachable: bool  # from other machines
    anonymous: str  # mqtt_answer() without credentials: "accepted" = anonymous allowed
    warning: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    statuses: list[ServiceStatus] = field(default_factory=list)
    broker: dict[str, str] = field(default_factory=dict)  # $SYS figures
    exposure: BrokerExposure | None = None
    node_red: dict[str, Any] | None = None
    system: dict[str, Any] = field(default_factory=dict)
    cpu_history: list[float] = field(default_factory=list)
    rate_history: list[float] = field(default_factory=list)
    rounds: int = 0


@dataclass(frozen=True, slots=True)
class ServiceChanged:
    """A check changed state (not on the first round)."""

    status: ServiceStatus
    previous: str


def is_node_red(check: ServiceCheck) -> bool:
    names = f"{check.name} {check.systemd}".lower()
    return bool(check.http) and ("node-red" in names or "nodered" in names)


def exposure_warning(exposure: BrokerExposure, port: int) -> str:
    if exposure.anonymous != "accepted":
        return ""
    fix = (
        "add a password: `sudo mosquitto_passwd -c /etc/mosquitto/passwd pi`, then "
        "`password_file /etc/mosquitto/passwd` and `allow_anonymous false` in "
        "/etc/mosquitto/conf.d/local.conf"
    )
    if exposure.reachable:
        return f"anonymous clients allowed on port {port} from other machines — {fix}"
    return f"anonymous clients allowed (this machine only) — {fix}"


def probe_exposure(host: str, port: int, timeout: float) -> BrokerExposure:
    addresses = listening_addresses(port)
    exposure = BrokerExposure(
        addresses, reachable_from_others(addresses), mqtt_answer(host, port, timeout)
    )
    warning = exposure_warning(exposure, port)
    return BrokerExposure(exposure.addresses, exposure.reachable, exposure.anonymous, warning)


class HealthService:
    def __init__(
        self,
        config: Config,
        store: MessageStore,
        *,
        publish: Callable[[str, bytes], bool],
        topic: str,
        on_event: Callable[[object], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self._publish = publish
        self._topic = topic
        self._emit = on_event or (lambda _e: None)
        self._now = clock
        self.report = HealthReport()
        self._cpu: deque[float] = deque(maxlen=HISTORY)
        self._rate: deque[float] = deque(maxlen=HISTORY)
        self._since: dict[str, tuple[str, float]] = {}  # name → (state, since)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.config.services.timeout_s * 2 + 2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def probe_now(self) -> None:
        """Run a round at once (the `r` key)."""
        self._wake.set()

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        psutil.cpu_percent()  # the first call only starts the measurement
        last_total, last_t = self.store.total, time.monotonic()
        next_round = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            total = self.store.total
            self._rate.append((total - last_total) / max(now - last_t, 1e-6))
            self._cpu.append(psutil.cpu_percent())
            last_total, last_t = total, now
            if now >= next_round or self._wake.is_set():
                self._wake.clear()
                try:
                    self._round()
                except Exception:  # a probe bug must not end the thread
                    log.exception("health round failed")
                next_round = time.monotonic() + self.config.services.interval_s
            else:
                self.report = replace(
                    self.report,
                    broker=broker_figures(self._last_payload),
                    cpu_history=list(self._cpu),
                    rate_history=list(self._rate),
                )
            self._wake.wait(SAMPLE_S)

    def _round(self) -> None:
        cfg = self.config
        timeout = cfg.services.timeout_s
        checks = list(cfg.services.check)
        futures = [self._pool.submit(self._probe_check, c, timeout) for c in checks]
        red = next((c for c in checks if is_node_red(c)), None)
        red_future = self._pool.submit(node_red_info, red.http, timeout) if red else None
        exposure = None
        if cfg.broker.is_loopback and cfg.broker.transport == "tcp":
            exposure = probe_exposure(cfg.broker.host, cfg.broker.port, timeout)
        probes = [f.result() for f in futures]
        node_red = red_future.result() if red_future else None
        statuses = []
        for check, probe in zip(checks, probes, strict=True):
            detail: dict[str, Any] = {}
            if check is red and node_red is not None:
                detail = {"node_red": describe_node_red(node_red)}
            statuses.append(self._status(check.name, probe, detail))
        self.report = HealthReport(
            statuses=statuses,
            broker=broker_figures(self._last_payload),
            exposure=exposure,
            node_red=node_red,
            system=system_figures(cfg.camera.folder),
            cpu_history=list(self._cpu),
            rate_history=list(self._rate),
            rounds=self.report.rounds + 1,
        )
        self._publish(self._topic, self.to_json().encode())

    @staticmethod
    def _probe_check(check: ServiceCheck, timeout: float) -> Probe:
        probes = []
        if check.systemd:
            probes.append(probe_systemd(check.systemd, timeout))
        if check.tcp:
            probes.append(probe_tcp(check.tcp, timeout))
        if check.http:
            probes.append(probe_http(check.http, timeout))
        return combine(probes)

    def _status(self, name: str, probe: Probe, detail: dict[str, Any]) -> ServiceStatus:
        previous = self._since.get(name)
        if previous is None or previous[0] != probe.state:
            self._since[name] = (probe.state, self._now())
        status = ServiceStatus(name, probe.state, probe.why, self._since[name][1], detail)
        if previous is not None and previous[0] != probe.state:
            self._emit(ServiceChanged(status, previous[0]))
        return status

    def _last_payload(self, topic: str) -> bytes | None:
        msg = self.store.last(topic)
        return msg.payload if msg is not None else None

    def to_json(self) -> str:
        r = self.report
        out: dict[str, Any] = {
            "checks": [s.to_json() for s in r.statuses],
            "broker": r.broker,
            "system": r.system,
        }
        if r.exposure is not None:
            out["broker_exposure"] = {
                "addresses": r.exposure.addresses,
                "reachable_from_other_machines": r.exposure.reachable,
                "anonymous_allowed": r.exposure.anonymous == "accepted",
            }
        if r.node_red is not None:
            out["node_red"] = r.node_red
        return json.dumps(out, separators=(",", ":"))
