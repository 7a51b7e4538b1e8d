"""The bounded message store between paho's network thread and the screen.

The network thread only appends (under a short lock); the UI drains a `Snapshot` on a
timer. Memory is bounded by topics × `history_per_topic`: per topic we keep the whole
last message and, for history and charts, rings of payloads and raw doubles (times),
which cost about the payload's own size per message.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple


class Message(NamedTuple):
    """One received message. A NamedTuple: built once per message on paho's thread,
    where a frozen dataclass costs four times as much."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    ts: float  # wall clock, seconds
    seq: int  # 1-based order of arrival since start
    properties: Any = None  # paho Properties (MQTT 5) or None
    size: int = -1  # the payload's real size when `payload` is only its head (log entries)

    @property
    def length(self) -> int:
        return len(self.payload) if self.size < 0 else self.size


# A payload bigger than this (a camera frame) is kept whole only as its topic's last
# message: the log keeps its head and size, the history ring keeps nothing. Without this a
# burst of 670 KB frames at 50/s grew the process by 320 MB (bench/preview.py).
BIG_PAYLOAD = 4096


class TopicEntry:
    """One topic: its count, last message, and rings of its last payloads and times."""

    __slots__ = ("count", "last", "payloads", "times")

    def __init__(self) -> None:
        self.count = 0
        self.last: Message | None = None
        self.payloads: list[bytes] = []  # ring, slot = count % history once full
        self.times = array("d")  # same ring, raw doubles: 8 bytes a message

    def ordered(self, history: int) -> list[tuple[float, bytes]]:
        pairs = list(zip(self.times, self.payloads, strict=True))
        if self.count <= history:
            return pairs
        start = self.count % history
        return pairs[start:] + pairs[:start]


@dataclass(slots=True)
class TopicState:
    """What the screen needs to know of one changed topic."""

    topic: str
    count: int
    last: Message


@dataclass(slots=True)
class Snapshot:
    """Everything that happened since the previous drain."""

    total: int
    new_topics: list[str] = field(default_factory=list)
    changed: list[TopicState] = field(default_factory=list)
    recent: list[Message] = field(default_factory=list)  # oldest first, at most `recent_limit`
    skipped: int = 0  # messages that arrived but are not in `recent`


class MessageStore:
    def __init__(
        self,
        history_per_topic: int = 100,
        log_size: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.history_per_topic = history_per_topic
        self._clock = clock
        self._lock = threading.Lock()
        self._topics: dict[str, TopicEntry] = {}
        self._log: deque[Message] = deque(maxlen=log_size)
        self._new_topics: list[str] = []
        self._changed: set[str] = set()
        self._watchers: list[set[str]] = []  # changed topics, one set per other consumer
        self._total = 0
        self._drained_seq = 0

    # --- network thread ---------------------------------------------------------------

    def add(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, properties: Any = None
    ) -> None:
        self.add_many(((topic, payload, qos, retain, properties),))

    def add_many(self, items: Iterable[tuple[str, bytes, int, bool, Any]]) -> None:
        """Add (topic, payload, qos, retain, properties) tuples under one lock and one
        timestamp: the batches from the MQTT client process."""
        now = self._clock()
        history = self.history_per_topic
        topics = self._topics
        with self._lock:
            log_append = self._log.append
            changed_add = self._changed.add  # drain() swaps the set: bind it under the lock
            total = self._total
            for topic, payload, qos, retain, properties in items:
                total += 1
                entry = topics.get(topic)
                if entry is None:
                    entry = topics[topic] = TopicEntry()
                    self._new_topics.append(topic)
                msg = Message(topic, payload, qos, retain, now, total, properties)
                big = len(payload) > BIG_PAYLOAD
                kept = b"" if big else payload
                n = entry.count
                if n < history:
                    entry.payloads.append(kept)
                    entry.times.append(now)
                else:
                    slot = n % history
                    entry.payloads[slot] = kept
                    entry.times[slot] = now
                entry.count = n + 1
                entry.last = msg
                if big:
                    msg = msg._replace(payload=payload[:BIG_PAYLOAD], size=len(payload))
                log_append(msg)
                changed_add(topic)
                for watched in self._watchers:
                    watched.add(topic)
            self._total = total

    # --- UI thread ------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return self._total

    def drain(self, recent_limit: int = 200) -> Snapshot:
        """Take what changed since the last drain. Cost grows with the number of changed
        topics and `recent_limit`, never with the message rate."""
        with self._lock:
            total = self._total
            new_topics, self._new_topics = self._new_topics, []
            changed_names, self._changed = self._changed, set()
            changed = [
                TopicState(t, e.count, e.last)  # type: ignore[arg-type]
                for t in changed_names
                if (e := self._topics.get(t)) is not None and e.last is not None
            ]
            arrived = total - self._drained_seq
            take = min(arrived, len(self._log), recent_limit)
            recent = list(islice(reversed(self._log), take))
            self._drained_seq = total
        recent.reverse()
        return Snapshot(total, new_topics, changed, recent, arrived - take)

    def watch(self) -> int:
        """A cursor for another consumer (the device roster): `changes(cursor)` returns
        what changed since its previous call, independent of the screen's drain."""
        with self._lock:
            self._watchers.append(set(self._topics))
            return len(self._watchers) - 1

    def changes(self, cursor: int) -> list[TopicState]:
        """The topics changed since the last call, oldest last message first."""
        with self._lock:
            names, self._watchers[cursor] = self._watchers[cursor], set()
            states = [
                TopicState(t, e.count, e.last)  # type: ignore[arg-type]
                for t in names
                if (e := self._topics.get(t)) is not None and e.last is not None
            ]
        states.sort(key=lambda st: st.last.seq)
        return states

    def topics(self) -> list[str]:
        with self._lock:
            return list(self._topics)

    def last(self, topic: str) -> Message | None:
        with self._lock:
            entry = self._topics.get(topic)
            return entry.last if entry else None

    def count(self, topic: str) -> int:
        with self._lock:
            entry = self._topics.get(topic)
            return entry.count if entry else 0

    def history(self, topic: str) -> list[tuple[float, bytes]]:
        """(time, payload) of the last `history_per_topic` messages, oldest first."""
        with self._lock:
            entry = self._topics.get(topic)
            return entry.ordered(self.history_per_topic) if entry else []

    def recent(self, limit: int | None = None) -> list[Message]:
        with self._lock:
            items = list(self._log)
        return items if limit is None else items[-limit:]

    def forget(self, topic: str) -> None:
        """Drop a topic (its retained message was cleared)."""
        with self._lock:
            self._topics.pop(topic, None)
            self._changed.discard(topic)


class RateMeter:
    """Messages per second over a sliding window, from a monotonically growing counter."""

    def __init__(self, window_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        self._window = window_s
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, count: int) -> float:
        now = self._clock()
        self._samples.append((now, count))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window:
            self._samples.popleft()
        t0, c0 = self._samples[0]
        return (count - c0) / (now - t0) if now > t0 else 0.0
