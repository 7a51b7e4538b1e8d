"""A real Node-RED (npm `node-red@4`, installed by `tests/run`) on a free port, with its
own user directory; optionally with admin auth."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .brokers import free_port

CACHE = Path(os.environ.get("PICENTRAL_TEST_CACHE", Path.home() / ".cache" / "picentral-tests"))
NODE_RED = CACHE / "node-red" / "node_modules" / "node-red" / "red.js"

# Node-RED's documented example hash (bcrypt of "password")
ADMIN_HASH = "$2a$08$zZWtXTja0fB1pzD4sHCMyOCMYz2Z6dNbM6tl8sJogENOMcxWV9DN."

FLOWS = [
    {"id": "t1", "type": "tab", "label": "Greenhouse"},
    {"id": "t2", "type": "tab", "label": "Old", "disabled": True},
    {"id": "n1", "type": "inject", "z": "t1", "name": "tick", "wires": [["n2"]]},
    {"id": "n2", "type": "debug", "z": "t1", "name": "show", "wires": []},
]


@dataclass
class NodeRed:
    userdir: Path
    admin_auth: bool = False
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60) -> NodeRed:
        if not NODE_RED.is_file() or shutil.which("node") is None:
            raise RuntimeError(f"Node-RED is not installed at {NODE_RED}: run `bash tests/run`")
        self.userdir.mkdir(parents=True, exist_ok=True)
        settings = {
            "uiHost": "127.0.0.1",
            "flowFile": "flows.json",
            "logging": {"console": {"level": "warn"}},
            "diagnostics": {"enabled": False},
            "telemetry": {"enabled": False},
        }
        if self.admin_auth:
            settings["adminAuth"] = {
                "type": "credentials",
                "users": [{"username": "admin", "password": ADMIN_HASH, "permissions": "*"}],
            }
        (self.userdir / "settings.js").write_text(f"module.exports = {json.dumps(settings)};\n")
        (self.userdir / "flows.json").write_text(json.dumps(FLOWS))
        self.proc = subprocess.Popen(
            ["node", str(NODE_RED), "-p", str(self.port), "-u", str(self.userdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Node-RED exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}settings", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401 with admin auth: it is up
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"Node-RED did not answer on {self.url} within {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
