"""The `picentral` command. Textual is imported only by the commands that draw."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from platformdirs import user_log_path

from services.config import Config, ConfigError, load_config
from services.simulator import FLAVOURS

log = logging.getLogger("picentral")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="picentral",
        description="Terminal dashboard and hub for a Raspberry Pi MQTT / camera server.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (TOML)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="dashboard with an embedded broker and a simulated fleet")
    serve = sub.add_parser("serve", help="run the hub without a screen (systemd)")
    serve.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    cap = sub.add_parser("capture", help="one still capture (for cron and scripts)")
    cap.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    cap.add_argument(
        "--out",
        metavar="FILE",
        help="where to write the JPEG (default: a new file in camera.capture_dir)",
    )
    doctor = sub.add_parser("doctor", help="check the Pi's setup and say how to fix it")
    doctor.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    sim = sub.add_parser("simulate", help="simulated ESP32 devices against the broker")
    sim.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS)
    sim.add_argument("--devices", type=int, default=4, metavar="N")
    sim.add_argument(
        "--rate",
        type=float,
        default=0.5,
        metavar="HZ",
        help="telemetry messages per second per device",
    )
    sim.add_argument(
        "--flavour",
        choices=[*FLAVOURS, "mixed"],
        default="generic",
        help="the firmware convention the devices speak (mixed: each in turn)",
    )
    sim.add_argument(
        "--churn",
        action="store_true",
        help="now and then a device drops off without DISCONNECT and comes back",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"picentral: config error: {e}", file=sys.stderr)
        return 2
    command = args.command or "dashboard"
    if command == "dashboard":
        return run_dashboard(config)
    if command == "demo":
        return run_demo(config)
    if command == "serve":
        return run_serve(config)
    if command == "capture":
        return run_capture(config, args.out)
    if command == "doctor":
        return run_doctor(config, args.json)
    if command == "simulate":
        return run_simulate(config, args.devices, args.rate, args.flavour, args.churn)
    return 2


def _log_to_file() -> Path:
    """The screen belongs to the TUI: logs go to a file."""
    path = user_log_path("picentral", appauthor=False) / "picentral.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    return path


def run_dashboard(config: Config, embedded=None, fleet=None) -> int:
    _log_to_file()
    from services.hub import Hub

    from .app import PicentralApp
    from .graphics import choose

    picture = choose(config.ui.images)  # textual-image asks the terminal before App.run()
    hub = Hub(config, embedded=embedded)
    try:
        PicentralApp(hub, picture=picture).run()
    finally:
        if fleet is not None:
            fleet.stop()
    return 0


def run_demo(config: Config) -> int:
    """An embedded broker on a free port and a simulated fleet: works on a bare machine."""
    from services.broker import EmbeddedBroker, free_port
    from services.simulator import Fleet

    _log_to_file()
    port = free_port()
    broker_cfg = config.broker.model_copy(
        update={
            "host": "127.0.0.1",
            "port": port,
            "protocol": "3.1.1",
            "tls": False,
            "transport": "tcp",
            "username": "",
            "embedded": "never",
        }
    )
    import tempfile

    camera_cfg = config.camera.model_copy(
        update={"backend": "testpattern", "capture_dir": tempfile.mkdtemp(prefix="picentral-demo-")}
    )
    config = config.model_copy(update={"broker": broker_cfg, "camera": camera_cfg})
    embedded = EmbeddedBroker("127.0.0.1", port)
    embedded.start()
    fleet = Fleet(broker_cfg, devices=8, rate=1.0, flavour="mixed", churn=True)
    fleet.start()
    return run_dashboard(config, embedded=embedded, fleet=fleet)


def _on_signals() -> threading.Event:
    """Install SIGTERM/SIGINT handlers first: a signal during start-up still stops cleanly."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_serve(config: Config) -> int:
    from services.camera import CaptureDone, CaptureFailed
    from services.device_service import DeviceChanged
    from services.events import ConnectionChanged, Notice, PublishResult
    from services.health_service import ServiceChanged
    from services.hub import Hub
    from services.tunnels import TunnelChanged

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)

    def on_event(event: object) -> None:
        if isinstance(event, ConnectionChanged):
            s = event.state
            log.info(
                "broker %s: %s%s",
                config.broker.address,
                s.status,
                f" — {s.reason}" if s.reason else "",
            )
        elif isinstance(event, Notice):
            log.info("%s", event.text)
        elif isinstance(event, DeviceChanged):
            d = event.device
            log.info("device %s (%s): %s → %s", d.id, d.convention, event.previous, d.state)
        elif isinstance(event, CaptureDone):
            log.info("captured %s (%s)", event.capture.path, event.capture.trigger)
        elif isinstance(event, CaptureFailed):
            log.warning("capture failed (%s): %s", event.trigger, event.error)
        elif isinstance(event, PublishResult) and event.outcome == "failed":
            log.warning("publish to %r failed: %s", event.topic, event.detail)
        elif isinstance(event, ServiceChanged):
            st = event.status
            log.info("service %s: %s → %s (%s)", st.name, event.previous, st.state, st.why)
        elif isinstance(event, TunnelChanged):
            t = event.tunnel
            extra = t.public_url or t.error
            log.info("tunnel %s: %s%s", t.name, t.state, f" — {extra}" if extra else "")

    stop = _on_signals()
    hub = Hub(config, on_event=on_event)
    hub.start(autostart_tunnels=True)
    gc.freeze()  # long-lived objects out of the GC's sight (see PicentralApp.on_mount)
    log.info("picentral hub running (base topic %r); SIGTERM stops it", config.hub.base_topic)
    stop.wait()
    log.info("stopping")
    hub.stop()
    return 0


def run_capture(config: Config, out: str | None) -> int:
    """One still, no screen, no broker: prints the file written."""
    import os
    import time
    from pathlib import Path

    from services.camera import CameraError, select_backend, write_capture

    cam = config.camera
    try:
        backend, _reason = select_backend(cam)
        if backend is None:
            raise CameraError('the camera is disabled (camera.backend = "none")')
        try:
            jpeg = backend.still(cam.width, cam.height, cam.jpeg_quality)
        finally:
            backend.close()
        if out:
            target = Path(out).expanduser()
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(jpeg)
            os.replace(tmp, target)
        else:
            target = write_capture(cam.folder, jpeg, time.time())
    except CameraError as e:
        print(f"picentral: capture failed: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"picentral: capture failed: cannot write: {e}", file=sys.stderr)
        return 1
    print(target)
    return 0


def run_doctor(config: Config, as_json: bool) -> int:
    from services.doctor import diagnose, render

    checks = diagnose(config)
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        out = {"ok": not failed, "checks": [c.to_json() for c in checks]}
        print(json.dumps(out, indent=2))
    else:
        print(render(checks, color=sys.stdout.isatty()))
    return 1 if failed else 0


def run_simulate(config: Config, devices: int, rate: float, flavour: str, churn: bool) -> int:
    from services.simulator import Fleet

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stop = _on_signals()
    fleet = Fleet(config.broker, devices=devices, rate=rate, flavour=flavour, churn=churn)
    fleet.start()
    log.info(
        "%d simulated %s devices on %s at %.2f msg/s each%s; Ctrl+C stops",
        devices,
        flavour,
        config.broker.address,
        rate,
        ", with churn" if churn else "",
    )
    stop.wait()
    fleet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
