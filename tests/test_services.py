"""Service health against real parts: Node-RED (npm node-red@4), Mosquitto with
`sys_interval 1`, with and without anonymous access and on loopback or every interface."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from services.config import parse_config
from services.health import Probe, combine, decode_throttled, probe_systemd, probe_tcp
from services.health_service import HealthService, ServiceChanged
from services.hub import Hub
from services.store import MessageStore

from .brokers import Mosquitto, free_port
from .conftest import Client, wait_for
from .nodered import NodeRed


@pytest.fixture
def node_red(tmp_path: Path):
    red = NodeRed(tmp_path / "node-red").start()
    yield red
    red.stop()


def health_for(checks: list[dict], broker_port: int = 1, **services) -> tuple[HealthService, list]:
    cfg = parse_config(
        {
            "broker": {"port": broker_port, "embedded": "never"},
            "services": {"interval_s": 1, "timeout_s": 2, "check": checks, **services},
        }
    )
    events: list[object] = []
    published: list[tuple[str, bytes]] = []
    svc = HealthService(
        cfg,
        MessageStore(),
        publish=lambda t, p: published.append((t, p)) or True,
        topic="picentral/services",
        on_event=events.append,
    )
    svc.published = published  # type: ignore[attr-defined]
    return svc, events


def status(svc: HealthService, name: str):
    return next((s for s in svc.report.statuses if s.name == name), None)


def test_node_red_up_with_version_and_flows_then_down_within_one_interval(node_red):
    svc, events = health_for([{"name": "node-red", "http": node_red.url}])
    svc.start()
    try:
        wait_for(lambda: (s := status(svc, "node-red")) and s.state == "up")
        red = status(svc, "node-red")
        assert red.why.startswith("HTTP 200 in ")
        assert red.detail["node_red"].startswith("Node-RED 4.")
        assert "2 flows, 2 nodes (1 disabled) · flows running" in red.detail["node_red"]
        rounds = svc.report.rounds
        node_red.stop()
        # interval 1 s + timeout 2 s: the next round sees it down
        wait_for(lambda: status(svc, "node-red").state == "down", timeout=10)
        assert svc.report.rounds <= rounds + 2
        assert "nothing listens at" in status(svc, "node-red").why
        changed = [e for e in events if isinstance(e, ServiceChanged)]
        assert [(e.previous, e.status.state) for e in changed] == [("up", "down")]
        topic, payload = svc.published[-1]
        assert topic == "picentral/services"
        assert json.loads(payload)["checks"][0]["state"] == "down"
    finally:
        svc.stop()


def test_node_red_with_admin_auth_is_shown_as_such(tmp_path):
    red = NodeRed(tmp_path / "nr", admin_auth=True).start()
    svc, _ = health_for([{"name": "node-red", "http": red.url}])
    svc.start()
    try:
        wait_for(lambda: (s := status(svc, "node-red")) and s.state == "up")
        assert status(svc, "node-red").detail["node_red"] == "admin auth on (version hidden)"
        assert svc.report.node_red == {"reachable": True, "admin_auth": True}
    finally:
        svc.stop()
        red.stop()


def test_sys_figures_and_the_anonymous_warning_on_every_interface(tmp_path):
    broker = Mosquitto(tmp_path, ["allow_anonymous true"], bind="").start()
    hub = Hub(
        parse_config(
            {
                "broker": {"port": broker.port, "embedded": "never"},
                "services": {"interval_s": 1, "check": []},
            }
        )
    )
    watcher = Client(broker.port, subscribe="picentral/services")
    hub.start()
    try:
        wait_for(lambda: hub.health.report.broker.get("version", "").startswith("mosquitto"))
        wait_for(lambda: "clients" in hub.health.report.broker)
        figures = hub.health.report.broker
        assert int(figures["clients"]) >= 2  # the hub and the watcher
        assert {"uptime", "received_per_min", "sent_per_min"} <= set(figures)
        exposure = hub.health.report.exposure
        assert exposure.reachable and exposure.anonymous == "accepted"
        assert "from other machines" in exposure.warning
        assert "mosquitto_passwd" in exposure.warning
        published = json.loads(watcher.wait_for("picentral/services"))
        assert published["broker_exposure"]["anonymous_allowed"] is True
        assert published["broker"]["version"].startswith("mosquitto")
    finally:
        hub.stop()
        watcher.close()
        broker.stop()


def test_no_warning_when_anonymous_clients_are_refused(mosquitto_password):
    cfg = parse_config(
        {
            "broker": {
                "port": mosquitto_password.port,
                "embedded": "never",
                "username": "pi",
                "password": "s3cret-Pa55",
            },
            "services": {"interval_s": 1, "check": []},
        }
    )
    hub = Hub(cfg)
    hub.start()
    try:
        wait_for(lambda: hub.health.report.exposure is not None)
        exposure = hub.health.report.exposure
        assert exposure.anonymous == "not authorized"
        assert exposure.addresses == ["127.0.0.1"] and not exposure.reachable
        assert exposure.warning == ""
    finally:
        hub.stop()


def test_tcp_probe_and_combining_probes():
    port = free_port()
    assert probe_tcp(f"127.0.0.1:{port}", 1).state == "down"
    with subprocess.Popen(
        [
            "python3",
            "-c",
            f"import socket,time;s=socket.socket();s.bind(('127.0.0.1',{port}));"
            "s.listen();time.sleep(30)",
        ]
    ) as proc:
        try:
            wait_for(lambda: probe_tcp(f"127.0.0.1:{port}", 1).state == "up")
        finally:
            proc.kill()
    up, down, unknown = Probe("up", "a"), Probe("down", "b"), Probe("unknown", "no systemd")
    assert combine([up, unknown]).state == "up"
    assert combine([up, down]).state == "degraded"
    assert combine([down, unknown]).state == "down"
    assert combine([unknown]).state == "unknown"
    assert combine([up, down]).why == "a · b"


def test_systemd_probe_says_so_where_there_is_no_systemd():
    probe = probe_systemd("mosquitto", 2)
    if Path("/run/systemd/system").is_dir():
        assert probe.state in ("up", "down", "degraded")
    else:
        assert probe == Probe("unknown", "no systemd")


def test_throttled_flags_are_decoded():
    assert decode_throttled(0x50005) == [
        "under-voltage now",
        "throttled now",
        "under-voltage has occurred",
        "throttling has occurred",
    ]
    assert decode_throttled(0) == []
