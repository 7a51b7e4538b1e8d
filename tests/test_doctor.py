"""`picentral doctor --json` against this machine: Mosquitto up, then down, then its port
held by another process; Node-RED up (real, npm node-red@4)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from .nodered import NodeRed

REPO = Path(__file__).resolve().parent.parent


def doctor(tmp_path: Path, port: int, node_red_url: str, *args: str) -> tuple[int, str]:
    cfg = tmp_path / "doctor.toml"
    cfg.write_text(
        f'[broker]\nport = {port}\nembedded = "never"\n'
        f'[camera]\ncapture_dir = "{tmp_path / "caps"}"\n'
        f'[[services.check]]\nname = "node-red"\nhttp = "{node_red_url}"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(cfg), "doctor", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout


def by_name(out: str) -> dict[str, dict]:
    report = json.loads(out)
    return {c["name"]: c for c in report["checks"]} | {"_ok": report["ok"]}


def test_doctor_with_mosquitto_up_then_down_then_its_port_taken(mosquitto, tmp_path):
    red = NodeRed(tmp_path / "nr").start()
    try:
        code, out = doctor(tmp_path, mosquitto.port, red.url, "--json")
        checks = by_name(out)
        port = f"broker port {mosquitto.port}"
        assert checks[port]["status"] == "warn"  # the fixture listens on loopback only
        assert "127.0.0.1" in checks[port]["seen"] and "listener 1883" in checks[port]["fix"]
        assert checks["anonymous access"]["status"] == "warn"
        assert "mosquitto_passwd" in checks["anonymous access"]["fix"]
        assert checks["publish/subscribe round trip"]["status"] == "ok"
        assert checks["mosquitto installed"]["status"] == "ok"
        assert checks["mosquitto running"]["status"] == "ok"
        assert checks["node-red reachable"]["status"] == "ok"
        assert checks["node-red reachable"]["seen"].startswith("Node-RED 4.")
        assert checks["disk space for captures"]["status"] == "ok"
        fails = [n for n, c in checks.items() if n != "_ok" and c["status"] == "fail"]
        assert (code, checks["_ok"], fails) == (0, True, [])

        mosquitto.stop()
        code, out = doctor(tmp_path, mosquitto.port, red.url, "--json")
        checks = by_name(out)
        assert code == 1 and checks["_ok"] is False
        assert checks[port]["status"] == "fail"
        assert "connection refused" in checks[port]["seen"]
        assert "systemctl start mosquitto" in checks[port]["fix"]
        assert checks["publish/subscribe round trip"]["status"] == "fail"
        assert "mosquitto_sub" in checks["publish/subscribe round trip"]["fix"]

        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", mosquitto.port))
        squatter.listen()
        try:
            code, out = doctor(tmp_path, mosquitto.port, red.url, "--json")
        finally:
            squatter.close()
        checks = by_name(out)
        assert code == 1
        assert checks[port]["status"] == "fail"
        assert "does not answer MQTT" in checks[port]["seen"]
        assert "is held by" in checks[port]["seen"]

        code, text = doctor(tmp_path, mosquitto.port, red.url)  # the human form
        assert code == 1
        assert f"✖ fail  broker port {mosquitto.port}" in text
        assert "→ sudo systemctl start mosquitto" in text
        assert text.rstrip().splitlines()[-1].startswith("12 checks: ")
    finally:
        red.stop()


def test_doctor_never_prints_the_authtoken_or_password(mosquitto, tmp_path, monkeypatch):
    monkeypatch.setenv("NGROK_AUTHTOKEN", "2xSECRETtoken")
    monkeypatch.setenv("PICENTRAL_BROKER_PASSWORD", "hunter2-secret")
    code, out = doctor(tmp_path, mosquitto.port, "http://127.0.0.1:9/", "--json")
    checks = by_name(out)
    assert checks["ngrok authtoken"] == {
        "name": "ngrok authtoken",
        "status": "ok",
        "seen": "set (hidden)",
        "fix": "",
    }
    assert "2xSECRETtoken" not in out and "hunter2-secret" not in out
    assert checks["node-red reachable"]["status"] == "fail" and code == 1
