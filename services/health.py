"""Is the Pi healthy? Probes of systemd units, TCP ports and HTTP URLs, the broker's `$SYS`
figures and exposure, Node-RED's admin API, and the Pi itself.

Every probe may block (a subprocess, a socket, an HTTP request) and has a timeout: they
run on the HealthService's thread, never on the UI thread. The probe functions are also
what `picentral doctor` uses.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

State = Literal["up", "down", "degraded", "unknown"]


@dataclass(frozen=True, slots=True)
class Probe:
    state: State
    why: str


# --- probes ---------------------------------------------------------------------------


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def systemd_unit(unit: str, timeout: float) -> dict[str, str]:
    """`systemctl show` of a unit: ActiveState, SubState, LoadState, UnitFileState, ..."""
    out = subprocess.run(
        ["systemctl", "show", unit, "--property=LoadState,ActiveState,SubState,UnitFileState"],
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def probe_systemd(unit: str, timeout: float) -> Probe:
    if not has_systemd():
        return Probe("unknown", "no systemd")
    try:
        props = systemd_unit(unit, timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Probe("unknown", f"systemctl failed: {e}")
    active, sub = props.get("ActiveState", ""), props.get("SubState", "")
    if props.get("LoadState") == "not-found":
        return Probe("down", f"unit {unit} is not installed")
    if active == "active":
        return Probe("up", f"{unit}: active ({sub})")
    if active in ("activating", "reloading"):
        return Probe("degraded", f"{unit}: {active}")
    if active == "failed":
        return Probe("down", f"{unit} failed — `journalctl -u {unit} -n 50`")
    return Probe("down", f"{unit} is {active or 'unknown'} — `sudo systemctl start {unit}`")


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def probe_tcp(address: str, timeout: float) -> Probe:
    host, port = split_host_port(address)
    t0 = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return Probe("down", f"nothing listens on {address}")
    except TimeoutError:
        return Probe("down", f"no answer from {address} within {timeout:g} s")
    except OSError as e:
        return Probe("down", f"{address}: {e.strerror or e}")
    return Probe("up", f"{address} open ({(time.perf_counter() - t0) * 1000:.0f} ms)")


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """(status, body) of a GET; HTTP error statuses are answers, not exceptions."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(1_000_000)
    except urllib.error.HTTPError as e:
        return e.code, e.read(1_000_000)


def probe_http(url: str, timeout: float) -> Probe:
    t0 = time.perf_counter()
    try:
        status, _ = http_get(url, timeout)
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ConnectionRefusedError):
            return Probe("down", f"nothing listens at {url}")
        return Probe("down", f"{url}: {getattr(reason, 'strerror', None) or reason}")
    except (TimeoutError, OSError) as e:
        return Probe("down", f"{url}: {e}")
    ms = (time.perf_counter() - t0) * 1000
    if status >= 500:
        return Probe("degraded", f"HTTP {status} in {ms:.0f} ms")
    return Probe("up", f"HTTP {status} in {ms:.0f} ms")


def combine(probes: list[Probe]) -> Probe:
    """Up when every probe that could tell is up; down when none is; degraded between."""
    known = [p for p in probes if p.state != "unknown"]
    why = " · ".join(p.why for p in probes)
    if not known:
        return Probe("unknown", why)
    if all(p.state == "up" for p in known):
        return Probe("up", why)
    if all(p.state == "down" for p in known):
        return Probe("down", why)
    return Probe("degraded", why)


# --- Node-RED ----------------------------------------------------------------------------


def node_red_info(base_url: str, timeout: float) -> dict[str, Any]:
    """Version and flows from the admin API. 401: admin auth is on (that is good)."""
    base = base_url.rstrip("/")
    try:
        status, body = http_get(f"{base}/settings", timeout)
    except (urllib.error.URLError, OSError) as e:
        return {"reachable": False, "error": str(getattr(e, "reason", e))}
    info: dict[str, Any] = {"reachable": True}
    if status == 401:
        info["admin_auth"] = True
        return info
    info["admin_auth"] = False
    try:
        info["version"] = json.loads(body).get("version", "?")
    except (ValueError, AttributeError):
        info["version"] = "?"
    try:
        status, body = http_get(f"{base}/flows", timeout)
        flows = json.loads(body) if status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        flows = None
    if isinstance(flows, list):
        tabs = [n for n in flows if isinstance(n, dict) and n.get("type") == "tab"]
        info["flows"] = len(tabs)
        info["nodes"] = sum(1 for n in flows if isinstance(n, dict) and "z" in n)
        info["disabled_flows"] = sum(1 for t in tabs if t.get("disabled"))
    try:
        status, body = http_get(f"{base}/flows/state", timeout)
        if status == 200:
            info["flows_state"] = {"start": "running", "stop": "stopped"}.get(
                json.loads(body).get("state"), "unknown"
            )
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        pass
    return info


def describe_node_red(info: dict[str, Any]) -> str:
    if not info.get("reachable"):
        return "not reachable"
    if info.get("admin_auth"):
        return "admin auth on (version hidden)"
    text = f"Node-RED {info.get('version', '?')}"
    if "flows" in info:
        text += f" · {info['flows']} flows, {info['nodes']} nodes"
        if info["disabled_flows"]:
            text += f" ({info['disabled_flows']} disabled)"
    if "flows_state" in info:
        text += f" · flows {info['flows_state']}"
    return text


# --- the broker ---------------------------------------------------------------------------

SYS_FIGURES = {
    "version": "$SYS/broker/version",
    "uptime": "$SYS/broker/uptime",
    "clients": "$SYS/broker/clients/connected",
    "received_per_min": "$SYS/broker/load/messages/received/1min",
    "sent_per_min": "$SYS/broker/load/messages/sent/1min",
    "retained": "$SYS/broker/retained messages/count",
    "dropped": "$SYS/broker/publish/messages/dropped",
}


def broker_figures(last_payload: Any) -> dict[str, str]:
    """The `$SYS` figures Mosquitto publishes (`sys_interval`), from the store."""
    out = {}
    for key, topic in SYS_FIGURES.items():
        payload = last_payload(topic)
        if payload is not None:
            out[key] = payload.decode("utf-8", "replace")[:80]
    return out


def listening_addresses(port: int) -> list[str]:
    """Local addresses with a TCP listener on `port` (from /proc: no root needed)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return []
    return sorted(
        {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    )


def reachable_from_others(addresses: list[str]) -> bool:
    return any(not ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def mqtt_answer(host: str, port: int, timeout: float, **auth: str) -> str:
    """Try an MQTT 3.1.1 CONNECT: "accepted", "not authorized", "no mqtt" (something
    listens but does not speak MQTT) or "refused" (nothing listens)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"picentral-probe-{os.getpid()}")
    if auth.get("username"):
        client.username_pw_set(auth["username"], auth.get("password") or None)
    answer: list[str] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: answer.append(
        "accepted" if not rc.is_failure else "not authorized"
    )
    try:
        client.connect(host, port, keepalive=10)
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "refused"
    deadline = time.monotonic() + timeout
    try:
        while not answer and time.monotonic() < deadline:
            if client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS and not answer:
                break
        if answer and answer[0] == "accepted":
            client.disconnect()
    finally:
        client.socket() and client.socket().close()
    return answer[0] if answer else "no mqtt"


# --- the Pi ----------------------------------------------------------------------------------

THROTTLE_BITS = {
    0: "under-voltage now",
    1: "ARM frequency capped now",
    2: "throttled now",
    3: "soft temperature limit now",
    16: "under-voltage has occurred",
    17: "frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


def decode_throttled(value: int) -> list[str]:
    return [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]


def throttled(timeout: float = 2.0) -> list[str] | None:
    """`vcgencmd get_throttled` flags, None where there is no vcgencmd (not a Pi)."""
    if shutil.which("vcgencmd") is None:
        return None
    try:
        out = subprocess.run(
            ["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=timeout
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"throttled=(0x[0-9a-fA-F]+)", out)
    return decode_throttled(int(match.group(1), 16)) if match else None


def cpu_temperature() -> float | None:
    zone = Path("/sys/class/thermal/thermal_zone0/temp")
    try:
        return int(zone.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def existing_parent(path: Path) -> Path:
    path = path.expanduser()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def system_figures(capture_dir: Path) -> dict[str, Any]:
    disk = psutil.disk_usage(str(existing_parent(capture_dir)))
    memory = psutil.virtual_memory()
    return {
        "load": [round(x, 2) for x in os.getloadavg()],
        "cpus": psutil.cpu_count() or 1,
        "memory_used_pct": round(memory.percent, 1),
        "memory_available_mb": round(memory.available / 2**20),
        "disk_free_mb": round(disk.free / 2**20),
        "disk_used_pct": round(disk.percent, 1),
        "temperature_c": cpu_temperature(),
        "throttled": throttled(),
        "uptime_s": round(time.time() - psutil.boot_time()),
    }


@dataclass(slots=True)
class ServiceStatus:
    name: str
    state: State
    why: str
    since: float  # hub time at which it entered this state
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "why": self.why, "since": self.since}
