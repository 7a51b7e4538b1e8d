"""The device roster: a fold of MQTT messages into the boards that are (or were) online.

`Roster.apply(topic, payload, ts)` is the fold step: deterministic, no I/O, no clock of
its own (time comes with each message; staleness with `Roster.expire(now)`). Each
presence convention of DESIGN.md is one small class; add a new one to CONVENTIONS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Literal

State = Literal["online", "offline", "sleeping", "starting", "stale"]
STATES: tuple[State, ...] = ("online", "offline", "sleeping", "starting", "stale")
MINUTE = 60.0
_MAX_PAYLOAD = 64 * 1024  # a presence or discovery payload larger than this is not parsed


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    convention: str
    state: State = "starting"
    last_seen: float = 0.0
    name: str = ""
    ip: str = ""
    rssi: int | None = None
    uptime: int | None = None
    fw: str = ""
    heap: int | None = None
    stale_after: float | None = None  # seconds; None = the roster's default
    command_topics: tuple[str, ...] = ()
    recent: tuple[tuple[float, int], ...] = ()  # (time, messages) within the last minute
    note: str = ""  # what could not be read, for the detail view

    @property
    def key(self) -> str:
        return f"{self.convention}:{self.id}"

    def msgs_per_minute(self, now: float) -> int:
        return sum(n for t, n in self.recent if now - t <= MINUTE)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "convention": self.convention,
            "state": self.state,
            "last_seen": round(self.last_seen, 3),
            "name": self.name,
            "ip": self.ip,
            "rssi": self.rssi,
            "uptime": self.uptime,
            "fw": self.fw,
            "command_topics": list(self.command_topics),
        }


def _json(payload: bytes) -> object:
    if len(payload) > _MAX_PAYLOAD:
        return None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


def _text(payload: bytes) -> str:
    return payload[:256].decode("utf-8", "replace").strip()


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Update:
    """What one message says about one device."""

    device_id: str
    state: State | None = None
    fields: dict = field(default_factory=dict)
    note: str = ""


class Convention:
    name = ""

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        raise NotImplementedError


class Generic(Convention):
    """Our firmware: `devices/<id>/status` online/offline, telemetry JSON, `cmd` topic."""

    name = "generic"

    def __init__(self, status_topics: list[str]) -> None:
        # "devices/+/status" → the base "devices/<id>" and the leaf "status"
        self.patterns = []
        for pattern in status_topics:
            levels = pattern.split("/")
            idx = levels.index("+")
            self.patterns.append((levels[:idx], idx, levels[idx + 1 :]))

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        levels = topic.split("/")
        for prefix, idx, leaf in self.patterns:
            if len(levels) <= idx or levels[:idx] != prefix:
                continue
            device_id = levels[idx]
            rest = levels[idx + 1 :]
            cmd = "/".join([*prefix, device_id, "cmd"])
            if rest == leaf:
                value = _text(payload).lower()
                state = {"online": "online", "offline": "offline", "sleeping": "sleeping"}
                return Update(
                    device_id,
                    state.get(value),
                    {"command_topics": (cmd,)},
                    "" if value in state else f"unknown status {value[:40]!r}",
                )
            if rest == ["telemetry"]:
                data = _json(payload)
                if not isinstance(data, dict):
                    return Update(device_id, note="telemetry is not a JSON object")
                return Update(
                    device_id,
                    None,
                    {
                        "rssi": _int(data.get("rssi")),
                        "ip": str(data.get("ip", ""))[:64],
                        "uptime": _int(data.get("uptime")),
                        "heap": _int(data.get("heap")),
                        "fw": str(data.get("fw", ""))[:64],
                    },
                )
            if len(rest) >= 1 and roster.known(self.name, device_id):
                return Update(device_id)  # any other topic of a known device: it is alive
        return None


_TASMOTA = re.compile(r"^tele/([^/]+)/(LWT|STATE|INFO1|INFO2)$")


class Tasmota(Convention):
    """`tele/<id>/LWT` Online/Offline (capitalised), STATE and INFO JSON, `cmnd/<id>/<Cmd>`."""

    name = "tasmota"

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        m = _TASMOTA.match(topic)
        if not m:
            return None
        device_id, leaf = m.groups()
        cmd = {"command_topics": (f"cmnd/{device_id}/POWER", f"cmnd/{device_id}/Status")}
        if leaf == "LWT":
            value = _text(payload)
            state = {"Online": "online", "Offline": "offline"}.get(value)
            return Update(device_id, state, cmd, "" if state else f"unknown LWT {value[:40]!r}")
        data = _json(payload)
        if not isinstance(data, dict):
            return Update(device_id, note=f"{leaf} is not a JSON object")
        fields: dict = {}
        if leaf == "STATE":
            wifi = data.get("Wifi") if isinstance(data.get("Wifi"), dict) else {}
            fields["rssi"] = _int(wifi.get("Signal", wifi.get("RSSI")))
            fields["uptime"] = _int(data.get("UptimeSec"))
            fields["telemetry_at"] = True
        elif leaf == "INFO1":
            info = data.get("Info1", data)
            if isinstance(info, dict):
                fields["fw"] = str(info.get("Version", ""))[:64]
        elif leaf == "INFO2":
            info = data.get("Info2", data)
            if isinstance(info, dict):
                fields["ip"] = str(info.get("IPAddress", ""))[:64]
                fields["name"] = str(info.get("Hostname", ""))[:64]
        return Update(device_id, None, fields)


_ESPHOME_CMD = {"switch", "light", "fan", "cover", "number", "select", "button", "lock"}


class ESPHome(Convention):
    """`<node>/status` online/offline (two levels), other `<node>/...` topics keep it alive."""

    name = "esphome"

    def __init__(self, reserved: tuple[str, ...]) -> None:
        self.reserved = set(reserved)  # first levels that belong to other conventions

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        node, _, rest = topic.partition("/")
        if not rest or node in self.reserved or node.startswith("$"):
            return None
        if rest == "status":
            value = _text(payload)
            state = {"online": "online", "offline": "offline"}.get(value)
            return Update(node, state, {}, "" if state else f"unknown status {value[:40]!r}")
        if roster.known(self.name, node):
            if rest.endswith("/command"):
                return None  # our own commands are not a sign of life
            fields = {}
            component = rest.split("/", 1)[0]
            if rest.endswith("/state") and rest.count("/") == 2 and component in _ESPHOME_CMD:
                fields["command_topic"] = f"{node}/{rest.rsplit('/', 1)[0]}/command"
            return Update(node, None, fields)
        return None


_HOMIE_STATES: dict[str, State] = {
    "ready": "online",
    "init": "starting",
    "sleeping": "sleeping",
    "lost": "offline",
    "disconnected": "offline",
    "alert": "online",
}


class Homie(Convention):
    """Homie 3/4 `homie/<id>/$state`, Homie 5 `homie/5/<id>/$state`, plus `$name`, `$localip`."""

    name = "homie"

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        levels = topic.split("/")
        if levels[0] != "homie" or len(levels) < 3:
            return None
        if levels[1] == "5" and len(levels) >= 4:
            device_id, attr = levels[2], "/".join(levels[3:])
        else:
            device_id, attr = levels[1], "/".join(levels[2:])
        value = _text(payload)
        if attr == "$state":
            state = _HOMIE_STATES.get(value)
            note = "alert" if value == "alert" else ("" if state else f"unknown $state {value!r}")
            return Update(device_id, state, {}, note)
        fields = {}
        if attr == "$name":
            fields["name"] = value[:64]
        elif attr == "$localip":
            fields["ip"] = value[:64]
        elif attr in ("$fw/version", "$implementation/version"):
            fields["fw"] = value[:64]
        elif attr.endswith("/set"):
            return None
        return Update(device_id, None, fields) if roster.known(self.name, device_id) else None


_HA_ABBREVIATIONS = {
    "avty_t": "availability_topic",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "cmd_t": "command_topic",
    "avty": "availability",
    "dev": "device",
    "ids": "identifiers",
    "sw": "sw_version",
    "uniq_id": "unique_id",
}


class HomeAssistant(Convention):
    """MQTT discovery: `homeassistant/<component>/[<node>/]<obj>/config` names the
    availability topic and its own payload values; that topic then says online/offline."""

    name = "homeassistant"

    def __init__(self) -> None:
        # availability topic → (device id, payload for online, payload for offline)
        self.availability: dict[str, tuple[str, str, str]] = {}

    def read(self, topic: str, payload: bytes, roster: Roster) -> Update | None:
        watched = self.availability.get(topic)
        if watched is not None:
            device_id, on, off = watched
            value = _text(payload)
            state: State | None = "online" if value == on else "offline" if value == off else None
            return Update(device_id, state, {}, "" if state else f"unknown availability {value!r}")
        levels = topic.split("/")
        if levels[0] != "homeassistant" or levels[-1] != "config" or len(levels) not in (4, 5):
            return None
        data = _json(payload)
        if not isinstance(data, dict):
            obj = levels[-2]
            return Update(obj, None, {}, "discovery config is not JSON (or too large)")
        config = {_HA_ABBREVIATIONS.get(k, k): v for k, v in data.items()}
        base = config.get("~")
        expand = (lambda t: t.replace("~", base)) if isinstance(base, str) else (lambda t: t)
        device = config.get("device")
        device = (
            {_HA_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
            if isinstance(device, dict)
            else {}
        )
        ids = device.get("identifiers")
        if isinstance(ids, list) and ids:
            device_id = str(ids[0])
        elif isinstance(ids, str):
            device_id = ids
        else:
            device_id = (
                levels[2] if len(levels) == 5 else str(config.get("unique_id") or levels[-2])
            )
        fields: dict = {
            "name": str(device.get("name", ""))[:64],
            "fw": str(device.get("sw_version", ""))[:64],
        }
        avail_topic = config.get("availability_topic")
        on, off = "online", "offline"
        if (
            not avail_topic
            and isinstance(config.get("availability"), list)
            and config["availability"]
        ):
            first = config["availability"][0]
            if isinstance(first, dict):
                first = {_HA_ABBREVIATIONS.get(k, k): v for k, v in first.items()}
                avail_topic = first.get("topic", first.get("t"))
                on = str(first.get("payload_available", on))
                off = str(first.get("payload_not_available", off))
        if isinstance(avail_topic, str):
            on = str(config.get("payload_available", on))
            off = str(config.get("payload_not_available", off))
            self.availability[expand(avail_topic)] = (device_id, on, off)
        command = config.get("command_topic")
        if isinstance(command, str):
            fields["command_topic"] = expand(command)
        note = "" if avail_topic else "no availability topic in discovery: state unknown"
        return Update(device_id, None, fields, note)


class Roster:
    """Devices by key, folded from messages."""

    def __init__(
        self,
        conventions: list[Convention],
        stale_after_s: float = 120.0,
    ) -> None:
        self.conventions = conventions
        self.stale_after_s = stale_after_s
        self.devices: dict[str, Device] = {}
        self.errors = 0  # convention bugs met (a message skipped, never a crash)
        self._tele: dict[str, float] = {}  # key → last Tasmota STATE time (TelePeriod)

    def known(self, convention: str, device_id: str) -> bool:
        return f"{convention}:{device_id}" in self.devices

    def apply(self, topic: str, payload: bytes, ts: float, count: int = 1) -> Device | None:
        """Fold in one message (or the last of `count` on the same topic); the device it
        changed, if any. Never raises on bad input."""
        if not payload:
            return None  # a cleared retained message (a forgotten device, a removed entity)
        for convention in self.conventions:
            try:
                update = convention.read(topic, payload, self)
            except Exception:  # a convention's bug must not stop the roster
                self.errors += 1
                continue
            if update is not None:
                return self._touch(convention.name, update, ts, count)
        return None

    def _touch(self, convention: str, update: Update, ts: float, count: int) -> Device:
        device_id, state, fields, note = update.device_id, update.state, update.fields, update.note
        key = f"{convention}:{device_id}"
        dev = self.devices.get(key) or Device(device_id, convention, "starting", ts)
        changes: dict = {"last_seen": max(ts, dev.last_seen)}
        recent = tuple(r for r in dev.recent if ts - r[0] <= MINUTE)
        changes["recent"] = (*recent[-120:], (ts, count))
        if state is not None:
            changes["state"] = state
        elif dev.state == "stale":
            changes["state"] = "online"  # heard from again
        if note:
            changes["note"] = note
        for name, value in fields.items():
            if name == "telemetry_at":
                previous = self._tele.get(key)
                self._tele[key] = ts
                if previous is not None and ts > previous:
                    changes["stale_after"] = 2 * (ts - previous)  # twice the TelePeriod
            elif name == "command_topic":
                if value not in dev.command_topics:
                    changes["command_topics"] = (*dev.command_topics, value)[-16:]
            elif name == "command_topics":
                changes["command_topics"] = value
            elif value not in (None, ""):
                changes[name] = value
        new = replace(dev, **changes)
        self.devices[key] = new
        return new

    def expire(self, now: float) -> list[Device]:
        """Online devices silent for longer than their stale time become stale."""
        changed = []
        for key, dev in self.devices.items():
            limit = dev.stale_after or self.stale_after_s
            if dev.state == "online" and now - dev.last_seen > limit:
                self.devices[key] = dev = replace(dev, state="stale")
                changed.append(dev)
        return changed

    def forget(self, key: str) -> Device | None:
        return self.devices.pop(key, None)

    def counts(self) -> tuple[int, int]:
        online = sum(1 for d in self.devices.values() if d.state == "online")
        return online, len(self.devices)

    def to_json(self) -> list[dict]:
        return [d.to_json() for d in sorted(self.devices.values(), key=lambda d: d.key)]


def make_conventions(
    names: list[str], generic_status_topics: list[str], base_topic: str
) -> list[Convention]:
    """Conventions in matching order: the specific topic shapes first, ESPHome's loose
    `<node>/status` last, and never the hub's own topics."""
    made: dict[str, Convention] = {
        "homeassistant": HomeAssistant(),
        "tasmota": Tasmota(),
        "homie": Homie(),
        "generic": Generic(generic_status_topics),
    }
    reserved = (
        base_topic.split("/")[0],
        "homeassistant",
        "homie",
        "tele",
        "cmnd",
        "stat",
        *(t.split("/")[0] for t in generic_status_topics),
    )
    made["esphome"] = ESPHome(reserved)
    order = ["homeassistant", "tasmota", "homie", "generic", "esphome"]
    return [made[n] for n in order if n in names]


def device_topics(device: Device, topics: list[str]) -> list[str]:
    """The topics (of those seen) that belong to `device`, by its convention's layout."""
    d = device.id
    prefixes = {
        "generic": (f"devices/{d}/",),
        "tasmota": (f"tele/{d}/", f"stat/{d}/", f"cmnd/{d}/"),
        "esphome": (f"{d}/",),
        "homie": (f"homie/{d}/", f"homie/5/{d}/"),
        "homeassistant": tuple(t.rsplit("/", 1)[0] + "/" for t in device.command_topics),
    }.get(device.convention, ())
    mine = [t for t in topics if t.startswith(prefixes)] if prefixes else []
    if device.convention == "homeassistant":
        mine += [t for t in topics if t.startswith("homeassistant/") and f"/{d}/" in t]
    return sorted(set(mine))


_PRESENCE_LEAVES = ("/status", "/LWT", "/$state", "/config")


def presence_topics(device: Device, topics: list[str]) -> list[str]:
    """The device's topics that say it exists (status, LWT, $state, discovery config):
    what to clear, retained, to forget it."""
    return [t for t in device_topics(device, topics) if t.endswith(_PRESENCE_LEAVES)]
