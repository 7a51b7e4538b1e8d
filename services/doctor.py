"""`picentral doctor`: the guide's troubleshooting as checks, each with what was seen and
the fix. Every check has a timeout; the whole run takes a few seconds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from .config import Config
from .health import (
    describe_node_red,
    existing_parent,
    has_systemd,
    listening_addresses,
    mqtt_answer,
    node_red_info,
    reachable_from_others,
    systemd_unit,
)

Status = Literal["ok", "warn", "fail"]
TIMEOUT = 3.0
PASSWORD_FIX = (
    "`sudo mosquitto_passwd -c /etc/mosquitto/passwd pi`, then `password_file "
    "/etc/mosquitto/passwd` and `allow_anonymous false` in /etc/mosquitto/conf.d/local.conf, "
    "and `sudo systemctl restart mosquitto`"
)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    seen: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "seen": self.seen, "fix": self.fix}


def diagnose(config: Config) -> list[Check]:
    b = config.broker
    answer = mqtt_answer(b.host, b.port, TIMEOUT)
    return [
        mosquitto_installed(),
        mosquitto_running(),
        broker_port(b.host, b.port, answer),
        anonymous_access(b.port, answer),
        round_trip(config),
        *node_red(config),
        camera(),
        *ngrok(config),
        disk_space(config.camera.folder),
        clock(),
    ]


# --- Mosquitto ---------------------------------------------------------------------------


def mosquitto_installed() -> Check:
    path = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if path is None:
        return Check(
            "mosquitto installed",
            "fail",
            "no mosquitto binary",
            "sudo apt install -y mosquitto mosquitto-clients",
        )
    try:
        out = subprocess.run([path, "-h"], capture_output=True, text=True, timeout=TIMEOUT).stdout
        version = re.search(r"mosquitto version (\S+)", out)
    except (OSError, subprocess.TimeoutExpired):
        version = None
    return Check("mosquitto installed", "ok", f"{path}" + (f" {version[1]}" if version else ""))


def mosquitto_running() -> Check:
    if has_systemd():
        state = systemd_unit("mosquitto", TIMEOUT).get("ActiveState", "unknown")
        if state == "active":
            return Check("mosquitto running", "ok", "systemd unit mosquitto is active")
        return Check(
            "mosquitto running",
            "fail",
            f"systemd unit mosquitto is {state}",
            "sudo systemctl enable --now mosquitto; if it fails: journalctl -u mosquitto -n 50",
        )
    pids = [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "mosquitto"]
    if pids:
        return Check("mosquitto running", "ok", f"pid {', '.join(map(str, pids))} (no systemd)")
    return Check(
        "mosquitto running",
        "fail",
        "no mosquitto process (no systemd here)",
        "mosquitto -c /etc/mosquitto/mosquitto.conf -d",
    )


def _listener_owner(port: int) -> str:
    """Name and pid of the process listening on `port`, where we may see it (root)."""
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid:
                return f"{psutil.Process(c.pid).name()} (pid {c.pid})"
    except (psutil.Error, OSError):
        pass
    return ""


def broker_port(host: str, port: int, answer: str) -> Check:
    name = f"broker port {port}"
    addresses = listening_addresses(port)
    if answer == "refused":
        return Check(
            name,
            "fail",
            f'nothing listens on {host}:{port} — clients get "connection refused"',
            "sudo systemctl start mosquitto (and check broker.host / broker.port)",
        )
    owner = _listener_owner(port)
    if answer == "no mqtt":
        who = owner or "another process"
        return Check(
            name,
            "fail",
            f"port {port} is held by {who}, which does not answer MQTT",
            f"stop it (`sudo ss -ltnp 'sport = :{port}'` shows it), then "
            "`sudo systemctl restart mosquitto`",
        )
    where = ", ".join(addresses) or host
    if owner and not owner.startswith("mosquitto"):
        return Check(name, "warn", f"MQTT on {where} served by {owner}, not mosquitto")
    if addresses and not reachable_from_others(addresses):
        return Check(
            name,
            "warn",
            f"listening on {where} only: other machines (your ESP32s) cannot connect",
            "add `listener 1883` to /etc/mosquitto/conf.d/local.conf, with a password: "
            + PASSWORD_FIX,
        )
    return Check(name, "ok", f"MQTT answers; listening on {where}")


def anonymous_access(port: int, answer: str) -> Check:
    name = "anonymous access"
    if answer in ("refused", "no mqtt"):
        return Check(name, "warn", "cannot tell: no broker answers", "fix the broker port first")
    if answer == "accepted":
        reach = reachable_from_others(listening_addresses(port))
        where = "from other machines" if reach else "on this machine"
        return Check(name, "warn", f"clients without a password are accepted {where}", PASSWORD_FIX)
    return Check(name, "ok", "clients without a password are refused")


def round_trip(config: Config) -> Check:
    """Subscribe, publish, receive: the guide's mosquitto_sub / mosquitto_pub test."""
    b = config.broker
    name = "publish/subscribe round trip"
    fix = (
        f"try by hand: `mosquitto_sub -h {b.host} -p {b.port} -t test/# -v` and in another "
        f"terminal `mosquitto_pub -h {b.host} -p {b.port} -t test/hello -m hi`"
    )
    topic = f"{config.hub.base_topic}/doctor/{uuid.uuid4().hex[:12]}"
    got = threading.Event()
    subscribed = threading.Event()
    connected: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"picentral-doctor-{os.getpid()}")
    if b.username:
        client.username_pw_set(b.username, b.password.get_secret_value() or None)
    if b.tls:
        client.tls_set(
            ca_certs=b.ca_file or None, certfile=b.cert_file or None, keyfile=b.key_file or None
        )
        client.tls_insecure_set(b.tls_insecure)

    def on_connect(c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        connected.append(str(rc))
        if not getattr(rc, "is_failure", True):
            c.subscribe(topic, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_message = lambda *_a: got.set()
    try:
        client.connect(b.host, b.port, keepalive=10)
    except OSError as e:
        return Check(name, "fail", f"cannot connect: {e.strerror or e}", fix)
    client.loop_start()
    try:
        if not subscribed.wait(TIMEOUT):
            why = connected[0] if connected else "no answer"
            return Check(name, "fail", f"could not subscribe ({why})", fix)
        t0 = time.perf_counter()
        client.publish(topic, b"doctor", qos=1)
        if not got.wait(TIMEOUT):
            return Check(name, "fail", f"published to {topic}, nothing came back", fix)
        ms = (time.perf_counter() - t0) * 1000
        return Check(name, "ok", f"{b.host}:{b.port}: published and received in {ms:.0f} ms")
    finally:
        client.disconnect()
        client.loop_stop()


# --- Node-RED ----------------------------------------------------------------------------


def node_red(config: Config) -> list[Check]:
    check = next(
        (c for c in config.services.check if c.http and "red" in f"{c.name}{c.systemd}".lower()),
        None,
    )
    url = check.http if check else "http://127.0.0.1:1880/"
    unit = check.systemd if check and check.systemd else "nodered"
    info = node_red_info(url, TIMEOUT)
    if info.get("reachable"):
        reach = Check("node-red reachable", "ok", f"{describe_node_red(info)} at {url}")
    else:
        reach = Check(
            "node-red reachable",
            "fail",
            f"nothing answers at {url}",
            f"sudo systemctl start {unit} (installed? the guide's Node-RED install script)",
        )
    if not has_systemd():
        boot = Check("node-red at boot", "warn", "cannot tell: no systemd here")
    else:
        enabled = systemd_unit(unit, TIMEOUT).get("UnitFileState", "")
        boot = (
            Check("node-red at boot", "ok", f"{unit} is enabled")
            if enabled == "enabled"
            else Check(
                "node-red at boot",
                "warn",
                f"{unit} is {enabled or 'not installed'}",
                f"sudo systemctl enable {unit}",
            )
        )
    return [reach, boot]


# --- camera, ngrok, disk, clock ---------------------------------------------------------


def camera() -> Check:
    tool = shutil.which("rpicam-hello") or shutil.which("libcamera-hello")
    fix = "check the ribbon cable (contacts towards the HDMI side on a Pi 4), then reboot"
    if tool:
        try:
            run = subprocess.run(
                [tool, "--list-cameras"], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return Check("camera", "fail", f"{tool} --list-cameras failed: {e}", fix)
        out = run.stdout + run.stderr
        found = re.search(r"^\s*0 : (.+)$", out, re.MULTILINE)
        if found:
            return Check("camera", "ok", found[1].strip())
        return Check("camera", "fail", "no cameras available", fix)
    try:
        from picamera2 import Picamera2  # type: ignore[import-not-found]

        cameras = Picamera2.global_camera_info()
    except ImportError:
        return Check(
            "camera",
            "warn",
            "no rpicam-apps and no picamera2 here (not a Pi?): the test pattern stands in",
            "on the Pi: sudo apt install -y rpicam-apps python3-picamera2",
        )
    if cameras:
        return Check("camera", "ok", str(cameras[0].get("Model", "camera 0")))
    return Check("camera", "fail", "picamera2 sees no camera", fix)


def ngrok(config: Config) -> list[Check]:
    from pyngrok import conf

    t = config.tunnels
    path = str(Path(t.ngrok_path).expanduser()) if t.ngrok_path else conf.DEFAULT_NGROK_PATH
    if os.access(path, os.X_OK):
        agent = Check("ngrok agent", "ok", path)
    else:
        agent = Check(
            "ngrok agent",
            "warn",
            f"no ngrok agent at {path}",
            "in picentral press t, then i (pyngrok installs it), or get it from "
            "https://ngrok.com/download and set tunnels.ngrok_path",
        )
    if t.authtoken.get_secret_value():
        token = Check("ngrok authtoken", "ok", "set (hidden)")
    elif _token_in(Path(conf.DEFAULT_NGROK_CONFIG_PATH)):
        token = Check("ngrok authtoken", "ok", f"in {conf.DEFAULT_NGROK_CONFIG_PATH} (hidden)")
    else:
        token = Check(
            "ngrok authtoken",
            "warn",
            "none: tunnels will fail with ERR_NGROK_4018",
            "set NGROK_AUTHTOKEN or tunnels.authtoken (from "
            "https://dashboard.ngrok.com/get-started/your-authtoken)",
        )
    return [agent, token]


def _token_in(path: Path) -> bool:
    try:
        return "authtoken:" in path.read_text()
    except OSError:
        return False


def disk_space(folder: Path) -> Check:
    where = existing_parent(folder)
    free_mb = shutil.disk_usage(where).free / 2**20
    seen = f"{free_mb / 1024:.1f} GB free on {where}"
    fix = f"free space, or lower camera.keep_last, or move camera.capture_dir (now {folder})"
    if free_mb < 100:
        return Check("disk space for captures", "fail", seen, fix)
    if free_mb < 1024:
        return Check("disk space for captures", "warn", seen, fix)
    return Check("disk space for captures", "ok", seen)


def clock() -> Check:
    if shutil.which("timedatectl") is None:
        return Check("clock synchronised", "warn", "cannot tell: no timedatectl")
    try:
        run = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return Check("clock synchronised", "warn", f"cannot tell: {e}")
    value = run.stdout.strip()
    if value == "yes":
        return Check("clock synchronised", "ok", "NTP synchronised")
    if value == "no":
        return Check(
            "clock synchronised",
            "warn",
            "not synchronised: capture names and message times may be wrong",
            "sudo timedatectl set-ntp true",
        )
    return Check("clock synchronised", "warn", "cannot tell: timedatectl has no answer here")


# --- output -------------------------------------------------------------------------------

_MARK = {"ok": ("✔", "32"), "warn": ("!", "33"), "fail": ("✖", "31")}


def render(checks: list[Check], color: bool = False) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        mark, code = _MARK[c.status]
        head = f"{mark} {c.status:<4}"
        if color:
            head = f"\x1b[{code};1m{head}\x1b[0m"
        lines.append(f"{head}  {c.name:<{width}}  {c.seen}")
        if c.fix:
            lines.append(f"{'':{7 + width + 4}}→ {c.fix}")
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    lines.append("")
    lines.append(f"{len(checks)} checks: {fails} failed, {warns} warnings")
    return "\n".join(lines)
