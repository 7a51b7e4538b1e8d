"""The MQTT service: one paho-mqtt 2.x client on its own network thread.

Callbacks only append to the store or record a state change; they never raise into
paho's thread (an exception there kills `loop_start`'s thread).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import wraps
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from .events import ConnectionChanged, ConnectionState, PublishResult
from .store import MessageStore
from .topics import topic_problem

if TYPE_CHECKING:
    from .config import BrokerConfig

log = logging.getLogger(__name__)

_EMPTY_PROPERTIES_ATTRS = len(vars(Properties(mqtt.PacketTypes.PUBLISH)))
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30

EventSink = Callable[[object], None]


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """What the client needs of `[broker]`, as plain data: the MQTT client process gets it
    without importing pydantic (14 of its 37 MB)."""

    host: str
    port: int
    protocol: str
    transport: str
    ws_path: str
    keepalive: int
    username: str
    password: str = field(repr=False)
    client_id: str  # resolved: never empty
    tls: bool
    ca_file: str
    cert_file: str
    key_file: str
    tls_insecure: bool
    subscriptions: list[str]

    @classmethod
    def of(cls, cfg: BrokerConfig | BrokerSettings) -> BrokerSettings:
        if isinstance(cfg, BrokerSettings):
            return cfg
        values = {f.name: getattr(cfg, f.name) for f in fields(cls)}
        values["password"] = cfg.password.get_secret_value()
        values["client_id"] = cfg.resolved_client_id()
        return cls(**values)


def _guarded(fn: Callable[..., None]) -> Callable[..., None]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # never into paho's thread
            log.exception("error in MQTT callback %s", fn.__name__)

    return wrapper


class _Client(mqtt.Client):
    """paho's client, remembering why the last connection attempt failed.

    paho's `on_connect_fail` does not receive the exception; the reason ("connection
    refused", a TLS error) is what the user needs to see.
    """

    last_connect_error: OSError | None = None

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as e:
            self.last_connect_error = e
            raise


def explain_connect_error(err: BaseException | None, cfg: BrokerConfig | BrokerSettings) -> str:
    """The reason a connection failed, and what to do about it, in one line."""
    where = f"{cfg.host}:{cfg.port}"
    if isinstance(err, ConnectionRefusedError):
        return (
            f"connection refused by {where} — is mosquitto running? "
            "`sudo systemctl start mosquitto`"
        )
    if isinstance(err, socket.gaierror):
        return f"cannot resolve {cfg.host!r} — check broker.host"
    if isinstance(err, TimeoutError | socket.timeout):
        return f"no answer from {where} — firewall or router in the way?"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({err.verify_message}) — check broker.ca_file"
    if isinstance(err, ssl.SSLError):
        return f"TLS handshake failed ({err.reason or err}) — is {where} a TLS listener?"
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror.lower()} ({where})"
    return f"cannot connect to {where}: {err}"


def explain_connack(reason: Any, cfg: BrokerConfig | BrokerSettings) -> str:
    """Why the broker refused us. Mosquitto answers "Not authorized" to a wrong password,
    so with credentials configured that is what we say."""
    name = str(reason)
    check = "check broker.username and PICENTRAL_BROKER_PASSWORD"
    if name == "Bad user name or password" or (name == "Not authorized" and cfg.username):
        return f"bad user name or password — {check}"
    if name == "Not authorized":
        return f"not authorized — the broker wants a user name and password ({check})"
    hints = {
        "Client identifier not valid": "client id refused — set broker.client_id",
        "Server unavailable": "broker unavailable — try again later",
        "Unsupported protocol version": 'protocol refused — try broker.protocol = "3.1.1"',
    }
    return hints.get(name, f"refused by the broker: {name}")


class MqttClientBase:
    """What the MQTT service and its child-process form share: the connection state as
    last reported, the control-topic hooks, clearing a retained message."""

    def __init__(
        self,
        cfg: BrokerConfig | BrokerSettings,
        store: MessageStore,
        *,
        status_topic: str | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.status_topic = status_topic
        self._emit: EventSink = on_event or (lambda _e: None)
        self._state = ConnectionState("stopped")
        self._hooks: dict[str, Callable[[bytes], None]] = {}  # exact topic → quick callback

    def on_topic(self, topic: str, callback: Callable[[bytes], None]) -> None:
        """Call `callback(payload)` for each message on exactly `topic` (the hub's control
        topics), on the thread that feeds the store. It must return at once. The topic is
        subscribed to even when the configured subscriptions do not cover it."""
        self._hooks[topic] = callback

    @property
    def v5(self) -> bool:
        return self.cfg.protocol == "5"

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state.status == "connected"

    def _set_state(self, state: ConnectionState) -> None:
        self._state = state
        self._emit(ConnectionChanged(state))

    @property
    def started(self) -> bool:
        raise NotImplementedError

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 0,
        retain: bool = False,
        *,
        report: bool = True,
    ) -> PublishResult:
        """Publish and say what happened now; QoS 1/2 later report `delivered` as an event
        (unless report=False: the hub's own state topics)."""
        problem = topic_problem(topic)
        if problem:
            return PublishResult(topic, qos, "failed", problem)
        if not self.started:
            return PublishResult(topic, qos, "failed", "the MQTT service is not started")
        return self._publish(topic, payload, qos, retain, report)

    def _publish(
        self, topic: str, payload: bytes | str, qos: int, retain: bool, report: bool
    ) -> PublishResult:
        raise NotImplementedError

    def clear_retained(self, topic: str) -> PublishResult:
        """An empty retained message removes the broker's retained one."""
        result = self.publish(topic, b"", qos=1, retain=True)
        if result.outcome != "failed":
            self.store.forget(topic)
        return result


class MqttService(MqttClientBase):
    """Connects, subscribes, feeds the store, publishes, and reports its state."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._delay: float | None = None  # mirrors paho's backoff to say "retry in N s"
        self._attempts = 0
        self._pending: dict[int, tuple[str, int, bool]] = {}  # mid → topic, qos, report
        self._acked: dict[int, float] = {}  # mids acked before publish() returned
        self._client: _Client | None = None  # built by start(), from the cfg of that moment

    # --- lifecycle --------------------------------------------------------------------

    def _make_client(self, cfg: BrokerSettings) -> _Client:
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            transport=cfg.transport,
            reconnect_on_failure=True,
        )
        if cfg.transport == "websockets":
            client.ws_set_options(path=cfg.ws_path)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password or None)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_queued_messages_set(10_000)  # QoS>0 publishes kept while offline
        client.suppress_exceptions = True
        if self.status_topic:
            client.will_set(self.status_topic, b"offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def start(self) -> None:
        cfg = BrokerSettings.of(self.cfg)
        self._add = self.store.add
        self._v5 = self.v5
        self._client = self._make_client(cfg)
        if cfg.tls:
            try:
                self._client.tls_set(
                    ca_certs=cfg.ca_file or None,
                    certfile=cfg.cert_file or None,
                    keyfile=cfg.key_file or None,
                )
                if cfg.tls_insecure:
                    self._client.tls_insecure_set(True)
            except (OSError, ssl.SSLError, ValueError) as e:
                self._set_state(ConnectionState("error", f"cannot load TLS files: {e}"))
                return
        self._set_state(ConnectionState("connecting"))
        kwargs: dict[str, Any] = {"keepalive": cfg.keepalive}
        if self.v5:
            kwargs["clean_start"] = True
        self._client.connect_async(cfg.host, cfg.port, **kwargs)
        self._client.loop_start()

    def stop(self, timeout: float = 2.0) -> None:
        """Say goodbye (retained `offline`), disconnect cleanly, stop the thread."""
        if self._client is None:
            return
        if self.state.status == "connected" and self.status_topic:
            info = self._client.publish(self.status_topic, b"offline", qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.01)
        self._client.disconnect()
        self._client.loop_stop()
        self._set_state(ConnectionState("stopped"))

    # --- state --------------------------------------------------------------------------

    def _schedule_retry(self, status: str, reason: str) -> None:
        self._delay = (
            RECONNECT_MIN_S if self._delay is None else min(self._delay * 2, RECONNECT_MAX_S)
        )
        self._attempts += 1
        self._set_state(
            ConnectionState(status, reason, time.monotonic() + self._delay, self._attempts)  # type: ignore[arg-type]
        )

    # --- paho callbacks (network thread) ---------------------------------------------

    @_guarded
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            # paho disconnects and retries; on_disconnect schedules the retry
            self._set_state(
                ConnectionState("error", explain_connack(reason, self.cfg), None, self._attempts)
            )
            return
        self._delay = None
        self._attempts = 0
        # qos 2: messages arrive with their own QoS; retain-as-published (MQTT 5): the
        # retained flag says whether the publisher retained it, not only on subscribe
        opts = SubscribeOptions(qos=2, retainAsPublished=True) if self.v5 else 2
        filters = list(self.cfg.subscriptions)
        filters += [
            t for t in self._hooks if not any(mqtt.topic_matches_sub(f, t) for f in filters)
        ]
        client.subscribe([(f, opts) for f in filters])
        if self.status_topic:
            client.publish(self.status_topic, b"online", qos=1, retain=True)
        self._set_state(ConnectionState("connected"))

    @_guarded
    def _on_connect_fail(self, client: _Client, _u: Any) -> None:
        self._schedule_retry("error", explain_connect_error(client.last_connect_error, self.cfg))

    @_guarded
    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self._state.status == "stopped":
            return
        previous = self._state
        if previous.status == "error" and previous.retry_at is None:
            self._schedule_retry("error", previous.reason)  # refused CONNACK: keep why
        else:
            why = "" if reason == 0 else f"connection lost: {reason}"
            self._schedule_retry("reconnecting", why)

    def _on_message(self, _c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
        # the hot path: no attribute chains, no property lookups, one call
        try:
            props = m.properties if self._v5 else None
            # paho gives every MQTT 5 message a Properties object; keeping the empty ones
            # alive doubled the CPU per message (GC). A set property is an instance
            # attribute beyond the 4 of an empty one; `isEmpty()` costs 6 µs.
            if props is not None and len(props.__dict__) <= _EMPTY_PROPERTIES_ATTRS:
                props = None
            topic = m.topic
            self._add(topic, m.payload, m.qos, m.retain, props)
            if self._hooks:
                hook = self._hooks.get(topic)
                if hook is not None:
                    hook(m.payload)
        except Exception:
            log.exception("cannot store a message")

    @_guarded
    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            entry = self._pending.pop(mid, None)
            if entry is None:
                now = time.monotonic()
                self._acked[mid] = now
                if len(self._acked) > 1000:
                    self._acked = {k: t for k, t in self._acked.items() if now - t < 60}
                return
        topic, qos, report = entry
        if qos == 0 or not report:
            return  # QoS 0 was reported as "sent"; the hub's own state topics stay quiet
        failed = getattr(reason, "is_failure", False)
        outcome = "failed" if failed else ("delivered" if qos else "sent")
        self._emit(PublishResult(topic, qos, outcome, str(reason) if failed else "", mid))

    # --- commands (any thread) -----------------------------------------------------

    @property
    def started(self) -> bool:
        return self._client is not None

    def _publish(
        self, topic: str, payload: bytes | str, qos: int, retain: bool, report: bool
    ) -> PublishResult:
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        props = None
        if self.v5 and isinstance(payload, str):
            props = Properties(mqtt.PacketTypes.PUBLISH)
            props.PayloadFormatIndicator = 1
        info = self._client.publish(topic, data, qos=qos, retain=retain, properties=props)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos == 0:
            return PublishResult(
                topic, qos, "failed", "not connected — QoS 0 is not kept; use QoS 1 to queue"
            )
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return PublishResult(topic, qos, "failed", mqtt.error_string(info.rc), info.mid)
        with self._lock:
            if self._acked.pop(info.mid, None) is not None:
                return PublishResult(topic, qos, "delivered" if qos else "sent", "", info.mid)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or qos:
                self._pending[info.mid] = (topic, qos, report)
        if qos == 0:
            return PublishResult(topic, qos, "sent", "", info.mid)
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            return PublishResult(topic, qos, "queued", "will be sent on reconnect", info.mid)
        return PublishResult(topic, qos, "sent", "waiting for the broker's ack", info.mid)
