"""Tunnels through the real pyngrok 9 against a stand-in ngrok agent (tests/doubles/ngrok):
start, stop, each error of ngrok's cloud, the agent dying, and the authtoken kept secret."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
from pathlib import Path

import pytest

from services.config import parse_config
from services.events import Notice
from services.tunnels import TunnelChanged, TunnelService

from .conftest import wait_for

AGENT = Path(__file__).parent / "doubles" / "ngrok"


@pytest.fixture
def record(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ngrok-record.jsonl"
    monkeypatch.setenv("FAKE_NGROK_RECORD", str(path))
    return path


def recorded(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def make(tmp_path):
    made: list[TunnelService] = []

    def build(
        authtoken: str = "2abcDEFtoken_good",
        *,
        anonymous: bool = False,
        ngrok_path: Path = AGENT,
        basic_auth: list[str] | None = None,
    ) -> TunnelService:
        cfg = parse_config(
            {
                "broker": {"port": 1883},
                "tunnels": {
                    "ngrok_path": str(ngrok_path),
                    "authtoken": authtoken,
                    "endpoint": [
                        {
                            "name": "node-red",
                            "proto": "http",
                            "addr": 1880,
                            "basic_auth": basic_auth or [],
                        },
                        {"name": "mqtt", "proto": "tcp", "addr": 1883},
                    ],
                },
            }
        )
        events: list[object] = []
        published: list[bytes] = []
        svc = TunnelService(
            cfg.tunnels,
            broker=cfg.broker,
            state_dir=tmp_path / "state",
            anonymous_broker=lambda: anonymous,
            publish=lambda _t, p: published.append(p) or True,
            on_event=events.append,
        )
        svc.events, svc.published = events, published  # type: ignore[attr-defined]
        made.append(svc)
        return svc

    yield build
    for svc in made:
        svc.stop_all()


def state(svc: TunnelService, name: str):
    return svc.state(name)


def test_start_and_stop_an_http_endpoint(make, record, tmp_path):
    svc = make()
    assert svc.start("node-red").outcome == "starting"
    assert state(svc, "node-red").state == "starting"
    wait_for(lambda: state(svc, "node-red").state == "online")
    url = state(svc, "node-red").public_url
    assert url.startswith("https://") and url.endswith(".ngrok-free.app")
    assert state(svc, "node-red").warning == "no basic_auth: anyone with the URL reaches it"
    assert json.loads(svc.published[-1]) == [
        {"name": "node-red", "proto": "http", "state": "online", "public_url": url, "error": ""},
        {"name": "mqtt", "proto": "tcp", "state": "stopped", "public_url": "", "error": ""},
    ]
    posts = [r["post"] for r in recorded(record) if "post" in r]
    assert posts[-1]["name"] == "node-red"
    assert posts[-1]["upstream"]["url"] == "http://localhost:1880"
    # the token went in a private file, not on the agent's command line (`ps` shows that)
    argv = next(r["argv"] for r in recorded(record) if "argv" in r)
    assert "2abcDEFtoken_good" not in " ".join(argv) and "--authtoken" not in argv
    config = Path(argv[argv.index("--config") + 1])
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "2abcDEFtoken_good" in config.read_text()

    svc.stop("node-red")
    wait_for(lambda: state(svc, "node-red").state == "stopped")
    assert state(svc, "node-red").public_url == ""
    changes = [e.tunnel.state for e in svc.events if isinstance(e, TunnelChanged)]
    assert changes == ["starting", "online", "stopped"]


def test_basic_auth_reaches_ngrok_and_silences_the_warning(make, record):
    svc = make(basic_auth=["admin:correct-horse-battery"])
    assert state(svc, "node-red").warning == ""
    svc.start("node-red")
    wait_for(lambda: state(svc, "node-red").state == "online")
    post = [r["post"] for r in recorded(record) if "post" in r][-1]
    assert post["basic_auth"] == ["admin:correct-horse-battery"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("", "ngrok needs an authtoken (ERR_NGROK_4018)"),
        ("malformed-2xYzSECRET", "ngrok refused the authtoken (ERR_NGROK_105)"),
        ("revoked-2xYzSECRET", "ngrok refused the authtoken (ERR_NGROK_107)"),
        ("busy-2xYzSECRET", "another ngrok agent already runs on this account (ERR_NGROK_108"),
    ],
)
def test_agent_errors_become_actionable_and_never_show_the_token(make, token, expected, caplog):
    caplog.set_level(logging.DEBUG)
    svc = make(token)
    svc.start("node-red")
    wait_for(lambda: state(svc, "node-red").state == "error", timeout=30)
    error = state(svc, "node-red").error
    assert error.startswith(expected)
    assert "dashboard.ngrok.com" in error
    if token:
        assert token not in error
        assert token not in caplog.text  # pyngrok's and ours
        assert all(token not in p.decode() for p in svc.published)


def test_tcp_on_the_free_plan_needs_a_card(make):
    svc = make("free-2abc")
    svc.start("mqtt")
    wait_for(lambda: state(svc, "mqtt").state == "error")
    assert state(svc, "mqtt").error.startswith(
        "TCP endpoints on ngrok's free plan need a card on file, which is not charged "
        "(ERR_NGROK_8013)"
    )
    svc.start("node-red")  # http works on the same plan, on the same agent
    wait_for(lambda: state(svc, "node-red").state == "online")


def test_a_tcp_tunnel_to_an_anonymous_broker_needs_a_confirmation(make):
    svc = make(anonymous=True)
    answer = svc.start("mqtt")
    assert answer.outcome == "confirm"
    assert "without a password" in answer.text and "anyone on the Internet" in answer.text
    assert state(svc, "mqtt").state == "stopped"
    assert svc.start("mqtt", confirmed=True).outcome == "starting"
    wait_for(lambda: state(svc, "mqtt").state == "online")
    assert state(svc, "mqtt").public_url.startswith("tcp://")


def test_the_agent_dying_is_detected_and_a_start_restarts_it(make):
    from pyngrok import process

    svc = make()
    svc.start("node-red")
    wait_for(lambda: state(svc, "node-red").state == "online")
    agent = process._current_processes[str(AGENT)].proc
    os.kill(agent.pid, signal.SIGKILL)
    wait_for(lambda: state(svc, "node-red").state == "error")
    assert state(svc, "node-red").error.startswith("the ngrok agent stopped (exit code -9)")
    svc.start("node-red")
    wait_for(lambda: state(svc, "node-red").state == "online")


def test_control_topic_commands_obey_the_config(make):
    svc = make(anonymous=True)
    start = json.dumps({"name": "node-red", "action": "start"}).encode()
    assert svc.command(start, allowed=False).startswith("ignored")
    assert state(svc, "node-red").state == "stopped"
    assert svc.command(b"{not json", allowed=True).startswith("ignored")
    assert svc.command(start, allowed=True) == "starting node-red"
    wait_for(lambda: state(svc, "node-red").state == "online")
    mqtt = json.dumps({"name": "mqtt", "action": "start"}).encode()
    assert "needs a confirmation on screen" in svc.command(mqtt, allowed=True)
    assert state(svc, "mqtt").state == "error"
    svc.command(json.dumps({"name": "node-red", "action": "stop"}).encode(), allowed=True)
    wait_for(lambda: state(svc, "node-red").state == "stopped")


def test_a_missing_agent_is_said_and_the_installer_failure_reported(make, tmp_path):
    svc = make(ngrok_path=tmp_path / "bin" / "ngrok")
    answer = svc.start("node-red")
    assert answer.outcome == "refused"
    assert answer.text == f"no ngrok agent at {tmp_path / 'bin' / 'ngrok'} — press i to install it"
    svc.install()  # no Internet here: pyngrok's download fails, and we say what to do
    wait_for(lambda: any(isinstance(e, Notice) for e in svc.events), timeout=60)
    notice = next(e for e in svc.events if isinstance(e, Notice))
    assert notice.severity == "error" and "https://ngrok.com/download" in notice.text


@pytest.mark.parametrize("allowed", [False, True])
def test_tunnels_over_mqtt_follow_control_allow_tunnel_commands(mosquitto, allowed):
    from services.hub import Hub

    from .conftest import Client

    cfg = parse_config(
        {
            "broker": {"port": mosquitto.port, "embedded": "never"},
            "services": {"check": []},
            "tunnels": {"ngrok_path": str(AGENT), "authtoken": "2abc-good"},
            "control": {"allow_tunnel_commands": allowed},
        }
    )
    events: list[object] = []
    hub = Hub(cfg, on_event=events.append)
    watcher = Client(mosquitto.port, subscribe="picentral/tunnels")
    hub.start()
    try:
        wait_for(lambda: watcher.received("picentral/tunnels"))  # retained states on connect
        assert json.loads(watcher.received("picentral/tunnels")[-1])[0]["state"] == "stopped"
        watcher.publish(
            "picentral/tunnels/set", json.dumps({"name": "node-red", "action": "start"})
        )
        if allowed:
            wait_for(lambda: hub.tunnels.state("node-red").state == "online")
            wait_for(
                lambda: (
                    json.loads(watcher.received("picentral/tunnels")[-1])[0]["state"] == "online"
                )
            )
            assert json.loads(watcher.received("picentral/tunnels")[-1])[0]["public_url"]
        else:
            wait_for(lambda: any("allow_tunnel_commands = false" in str(e) for e in events))
            assert hub.tunnels.state("node-red").state == "stopped"
    finally:
        hub.stop()
        watcher.close()
    assert hub.tunnels.state("node-red").state == "stopped"


def test_serve_starts_autostart_tunnels_and_stops_them_on_sigterm(mosquitto, tmp_path):
    import subprocess
    import sys

    import psutil

    from .conftest import Client

    cfg = tmp_path / "serve.toml"
    cfg.write_text(
        f'[broker]\nport = {mosquitto.port}\nembedded = "never"\n'
        f'[camera]\nbackend = "testpattern"\ncapture_dir = "{tmp_path / "caps"}"\n'
        f'[tunnels]\nngrok_path = "{AGENT}"\nauthtoken = "2abc-good"\n'
        '[[tunnels.endpoint]]\nname = "node-red"\nproto = "http"\naddr = 1880\nautostart = true\n'
    )
    watcher = Client(mosquitto.port, subscribe="picentral/tunnels")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(cfg), "serve"],
        cwd=Path(__file__).resolve().parent.parent,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def online() -> bool:
            got = watcher.received("picentral/tunnels")
            return bool(got) and json.loads(got[-1])[0]["state"] == "online"

        wait_for(online, timeout=30)
        agents = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "ngrok" in " ".join(p.cmdline())
        ]
        assert agents
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        _gone, alive = psutil.wait_procs(agents, timeout=10)
        assert not alive  # the agent ended with picentral
        err = proc.stderr.read()
        assert "tunnel node-red: online — https://" in err
        assert "2abc-good" not in err
    finally:
        proc.kill()
        watcher.close()
