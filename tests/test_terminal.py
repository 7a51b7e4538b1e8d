"""The real `picentral` command in a real terminal (tmux): type, publish, receive."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Client

PICENTRAL = Path(sys.executable).parent / "picentral"


class Tmux:
    def __init__(self, name: str) -> None:
        self.socket = f"picentral-test-{name}"

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        self.run(
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "160",
            "-y",
            "48",
            f"env -u COLUMNS -u LINES {exports} {command}; sleep 600",
        )

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)
        # a person's pace: keys sent in one burst can reach the terminal in one read,
        # before the app has moved focus for the Tab in the middle of them
        time.sleep(0.3)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(request):
    assert shutil.which("tmux"), "tmux is required (the test command installs it)"
    t = Tmux(request.node.name[:40])
    yield t
    t.kill()


def test_publish_from_the_real_terminal(mosquitto, tmux, tmp_path):
    config = tmp_path / "picentral.toml"
    config.write_text(f'[broker]\nport = {mosquitto.port}\nembedded = "never"\n')
    sub = Client(mosquitto.port, subscribe="terminal/#")
    try:
        tmux.start(
            f"{PICENTRAL} --config {config}",
            {"XDG_STATE_HOME": str(tmp_path / "state"), "TERM": "xterm-256color"},
        )
        tmux.wait_for("● connected")
        tmux.wait_for(f"mqtt://127.0.0.1:{mosquitto.port}")
        tmux.keys("p")
        tmux.wait_for("enter in topic or ctrl+s publish")
        tmux.keys("terminal/esp32-9/cmd", literal=True)
        tmux.keys("Tab")
        tmux.keys('{"relay": "on"}', literal=True)
        tmux.keys("C-s")
        assert sub.wait_for("terminal/esp32-9/cmd") == b'{"relay": "on"}'
        # and the app saw its own message come back through the broker
        tmux.wait_for("terminal/esp32-9/cmd")
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while "● connected" in tmux.screen() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Traceback" not in tmux.screen()
    finally:
        sub.close()


def test_demo_works_on_a_bare_machine(tmux, tmp_path):
    """`picentral demo`: its own broker on a free port, a simulated fleet, no config."""
    tmux.start(
        f"{PICENTRAL} demo", {"XDG_STATE_HOME": str(tmp_path / "state"), "TERM": "xterm-256color"}
    )
    screen = tmux.wait_for("(embedded broker)")
    assert "mqtt://127.0.0.1:" in screen
    tmux.wait_for("● connected")
    tmux.wait_for("devices/esp32-")  # telemetry of the simulated fleet in the log
    tmux.keys("q")
