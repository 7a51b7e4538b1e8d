"""Real Mosquitto brokers for tests: free port, generated config, stopped by PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


@dataclass
class Mosquitto:
    """One mosquitto process; `stop()` and `start()` again on the same port."""

    workdir: Path
    conf_lines: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    bind: str = "127.0.0.1"  # "" = every interface, as the guide's `listener 1883`

    @property
    def conf(self) -> Path:
        return self.workdir / "mosquitto.conf"

    def start(self) -> Mosquitto:
        self.conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} {self.bind}".rstrip(),
                    "sys_interval 1",
                    "persistence false",
                    # as root, mosquitto would drop to user "mosquitto", who cannot read
                    # pytest's private tmp dirs; as any other user this line does nothing
                    "user root" if os.geteuid() == 0 else "",
                    f"log_dest file {self.workdir / 'mosquitto.log'}",
                    *self.conf_lines,
                ]
            )
            + "\n"
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_listening(self.port)
        except TimeoutError:
            self.proc.kill()
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            raise RuntimeError(f"mosquitto did not start: {err}") from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text() if path.exists() else ""
