"""The MQTT client in a child process of its own.

paho parses every packet in Python. In the screen's process that work competes with the
UI for the GIL: during an 18,500 msgs/s flood a key took 228 ms (p95) to show. In a child
process the client has a core of its own; the parent receives the messages in batches
(one pickle every few milliseconds) and adds each batch to the store under one lock.

`MqttProcess` has `MqttService`'s interface; the child runs a real `MqttService` whose
"store" is a batch and whose events come back through the pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from .events import ConnectionChanged, ConnectionState, Notice, PublishResult
from .mqtt import BrokerSettings, MqttClientBase, MqttService

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

FLUSH_S = 0.005  # how long a message may wait in the child before it is sent on
MAX_PENDING = 200_000  # messages held in the child while the parent is not reading
RESTART_S = 2.0


class MqttProcess(MqttClientBase):
    """Connects, subscribes, feeds the store, publishes, and reports its state — with
    paho in a child process. Publish outcomes are said at once from the connection state
    ("sent", "queued", "failed"); "delivered" and late failures arrive as events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._stopping = threading.Event()
        self.dropped = 0  # messages the child had to drop because we did not read them

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start the child (a fresh interpreter: forking a process with threads is not
        safe). Returns before it has connected; the state follows as events."""
        self._stopping.clear()
        self._set_state(ConnectionState("connecting"))
        self._spawn()
        self._reader = threading.Thread(target=self._read, name="mqtt-reader", daemon=True)
        self._reader.start()

    def _spawn(self) -> None:
        # `python -m services.mqtt_process FD`, not multiprocessing's spawn: that imports
        # the parent's __main__ again (a script without a main guard would start twice).
        # The settings, password included, go through the socket, never the command line.
        ours, theirs = socket.socketpair()
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C and a terminal's hangup are the parent's to handle
        )
        theirs.close()
        conn = Connection(ours.detach())
        conn.send((BrokerSettings.of(self.cfg), self.status_topic, list(self._hooks)))
        if self._conn is not None:
            self._conn.close()  # a restart: the dead child's end
        self._conn, self._process = conn, process

    def stop(self, timeout: float = 2.0) -> None:
        """Say goodbye (the child publishes the retained `offline`), end the child."""
        if self._process is None:
            return
        self._stopping.set()
        self._send(("stop", timeout))
        if self._reader is not None:
            self._reader.join(timeout + 3)
        try:
            self._process.wait(1)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(1)
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._set_state(ConnectionState("stopped"))

    # --- the pipe -------------------------------------------------------------------------

    def _send(self, command: tuple) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            with self._send_lock:  # publishes come from the UI, device and camera threads
                conn.send(command)
        except (OSError, ValueError):  # the child is gone (restarting or stopped)
            return False
        return True

    def _read(self) -> None:
        """The reader thread: batches into the store, events to our sink; restarts a child
        that died."""
        while True:
            self._pump(self._conn)
            if self._stopping.is_set():
                return
            code = self._process.poll() if self._process else None
            self._set_state(
                ConnectionState(
                    "error",
                    f"the MQTT client process ended (exit code {code}); restarting it",
                    time.monotonic() + RESTART_S,
                )
            )
            if self._stopping.wait(RESTART_S):
                return
            self._spawn()
            if self._stopping.is_set():  # stop() may have written to the old pipe
                self._send(("stop", 0.5))

    def _pump(self, conn: Connection | None) -> None:
        add_many = self.store.add_many
        hooks = self._hooks
        while conn is not None:
            try:
                kind, body = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "msgs":
                batch, dropped = body
                add_many(batch)
                if hooks:
                    for item in batch:
                        hook = hooks.get(item[0])
                        if hook is not None:
                            self._call(hook, item[1])
                if dropped:
                    self._note_dropped(dropped)
            elif kind == "event":
                if isinstance(body, ConnectionChanged):
                    self._state = body.state
                self._emit(body)
            elif kind == "log":
                level, name, text = body
                logging.getLogger(name).log(level, "%s", text)
            elif kind == "stopped":
                return

    @staticmethod
    def _call(hook: Callable[[bytes], None], payload: bytes) -> None:
        try:
            hook(payload)
        except Exception:
            log.exception("error in a topic hook")

    def _note_dropped(self, dropped: int) -> None:
        if not self.dropped:
            self._emit(
                Notice(
                    "messages arrive faster than picentral can keep them; some were dropped "
                    "— narrow broker.subscriptions",
                    "warning",
                )
            )
        self.dropped += dropped

    # --- commands (any thread) -----------------------------------------------------

    @property
    def started(self) -> bool:
        return self._process is not None

    def _publish(
        self, topic: str, payload: bytes | str, qos: int, retain: bool, report: bool
    ) -> PublishResult:
        """What happens now is told from the connection state; "delivered" and late
        failures come from the child as events."""
        if not self.connected and qos == 0:
            return PublishResult(
                topic, qos, "failed", "not connected — QoS 0 is not kept; use QoS 1 to queue"
            )
        if not self._send(("publish", (topic, payload, qos, retain, report))):
            return PublishResult(topic, qos, "failed", "the MQTT client process is restarting")
        if qos == 0:
            return PublishResult(topic, qos, "sent")
        if not self.connected:
            return PublishResult(topic, qos, "queued", "will be sent on reconnect")
        return PublishResult(topic, qos, "sent", "waiting for the broker's ack")


# --- the child process ----------------------------------------------------------------


class _Batch:
    """The child's stand-in for the store: paho's thread adds, the main loop sends."""

    def __init__(self) -> None:
        self._items: list[tuple] = []
        self._lock = threading.Lock()
        self.dropped = 0

    def add(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, properties: Any = None
    ) -> None:
        with self._lock:
            if len(self._items) < MAX_PENDING:
                self._items.append((topic, payload, qos, retain, properties))
            else:
                self.dropped += 1

    def take(self) -> tuple[list[tuple], int]:
        with self._lock:
            items, self._items = self._items, []
            dropped, self.dropped = self.dropped, 0
        return items, dropped

    def forget(self, topic: str) -> None:
        pass  # the parent's store forgets


class _PipeLog(logging.Handler):
    """The child's log records go to the parent's logging: the child's stderr is the
    terminal the TUI draws on."""

    def __init__(self, send: Callable[[tuple], None]) -> None:
        super().__init__()
        self._send_to_parent = send

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # never fail the caller for a log line
            self._send_to_parent(("log", (record.levelno, record.name, self.format(record))))


def _child_main(conn: Connection) -> None:
    cfg, status_topic, hook_topics = conn.recv()
    stop = threading.Event()
    # SIGTERM (systemd stops the whole cgroup): say goodbye cleanly, as on "stop"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()

    def send(item: tuple) -> None:
        with lock:
            conn.send(item)

    logging.basicConfig(level=logging.INFO, handlers=[_PipeLog(send)], force=True)
    batch = _Batch()
    service = MqttService(
        cfg, batch, status_topic=status_topic, on_event=lambda e: send(("event", e))
    )
    for topic in hook_topics:
        service.on_topic(topic, lambda _p: None)  # subscribed; the parent calls the hooks
    service.start()
    stop_timeout = 2.0
    try:
        while not stop.is_set():
            if conn.poll(FLUSH_S):
                kind, body = conn.recv()
                if kind == "stop":
                    stop_timeout = body
                    break
                if kind == "publish":
                    _publish(service, send, *body)
            items, dropped = batch.take()
            if items or dropped:
                send(("msgs", (items, dropped)))
    except (EOFError, OSError):
        # the parent died: leave without DISCONNECT so that the broker sends our Will
        os._exit(1)
    service.stop(stop_timeout)
    items, dropped = batch.take()
    try:
        if items or dropped:
            send(("msgs", (items, dropped)))
        send(("stopped", None))
    except OSError:
        pass


def _publish(
    service: MqttService,
    send: Callable[[tuple], None],
    topic: str,
    payload: bytes | str,
    qos: int,
    retain: bool,
    report: bool,
) -> None:
    """Publish for the parent, which has already said "sent" or "queued": only what it
    could not know comes back (acked at once, or refused)."""
    result = service.publish(topic, payload, qos, retain, report=report)
    if report and (result.outcome == "failed" or (result.outcome == "delivered" and qos)):
        send(("event", result))


if __name__ == "__main__":
    try:
        _child_main(Connection(int(sys.argv[1])))
    except Exception:
        # a bug, not the parent leaving: into the parent's log (our stderr may be the
        # terminal the TUI draws on), then the parent restarts us
        logging.getLogger("services.mqtt_process").exception("the MQTT client process failed")
        sys.exit(1)
