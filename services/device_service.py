"""The device service: folds what changed in the store into the roster, a few times a
second, on its own thread; publishes the roster and reports devices that come and go."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .config import DevicesConfig
from .devices import Device, Roster, make_conventions
from .store import MessageStore

log = logging.getLogger(__name__)

FOLD_INTERVAL_S = 0.25
PUBLISH_INTERVAL_S = 1.0  # the retained roster: at most once a second


@dataclass(frozen=True, slots=True)
class DeviceChanged:
    """A device went offline or stale, or came back (a low-rate event)."""

    device: Device
    previous: str


def _came_or_went(previous: str, state: str) -> bool:
    """Online ↔ offline/stale: what a person wants to be told. Not the first sighting
    (thousands of retained statuses arrive at start), not starting/sleeping."""
    gone = ("offline", "stale")
    return (previous == "online" and state in gone) or (previous in gone and state == "online")


class DeviceService:
    def __init__(
        self,
        cfg: DevicesConfig,
        store: MessageStore,
        *,
        base_topic: str,
        publish: Callable[[str, bytes], bool] | None = None,
        on_event: Callable[[object], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.roster = Roster(
            make_conventions(cfg.conventions, cfg.generic_status_topics, base_topic),
            stale_after_s=cfg.stale_after_s,
        )
        self.roster_topic = f"{base_topic}/devices"
        self._publish = publish
        self._emit = on_event or (lambda _e: None)
        self._clock = clock
        self._lock = threading.Lock()
        self._cursor = store.watch()
        self._dirty = False
        self._last_publish = 0.0
        self._version = 0  # bumped on every change: the screen diffs only when it moved
        self._counts: dict[str, int] = {}  # per topic, to turn counts into message deltas
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return self._clock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="picentral-devices", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(FOLD_INTERVAL_S):
            try:
                self.step()
            except Exception:
                log.exception("device roster step failed")

    def step(self) -> None:
        """Fold the changes in, expire the silent, publish if due. (Tests call it directly.)"""
        now = self._clock()
        changes = self.store.changes(self._cursor)
        with self._lock:
            before = {k: d.state for k, d in self.roster.devices.items()}
            seen = self._counts
            for st in changes:
                count = st.count - seen.get(st.topic, 0)
                seen[st.topic] = st.count
                if st.last.topic.startswith(self.roster_topic):
                    continue  # our own roster
                self.roster.apply(st.topic, st.last.payload, st.last.ts, max(count, 1))
            self.roster.expire(now)
            moved = [
                (d, before.get(k, "new"))
                for k, d in self.roster.devices.items()
                if before.get(k) != d.state
            ]
            if changes or moved:
                self._version += 1
                self._dirty = True
        for device, previous in moved:
            if _came_or_went(previous, device.state):
                self._emit(DeviceChanged(device, previous))
        if self._dirty and now - self._last_publish >= PUBLISH_INTERVAL_S:
            self.publish_roster(now)

    def publish_roster(self, now: float | None = None) -> None:
        if self._publish is None:
            return
        with self._lock:
            payload = json.dumps(self.roster.to_json(), separators=(",", ":")).encode()
        if self._publish(self.roster_topic, payload):
            self._dirty = False
            self._last_publish = self._clock() if now is None else now

    def snapshot(self) -> tuple[int, dict[str, Device]]:
        """(version, devices by key) for the screen."""
        with self._lock:
            return self._version, dict(self.roster.devices)

    def forget(self, key: str) -> Device | None:
        with self._lock:
            device = self.roster.forget(key)
            self._version += 1
            self._dirty = True
        return device
