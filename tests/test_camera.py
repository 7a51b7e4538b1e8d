"""The camera: backends against doubles of the real APIs, captures against a real broker."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from services.camera import (
    NO_CAMERA,
    CameraError,
    CameraService,
    CaptureDone,
    CaptureFailed,
    Picamera2Backend,
    RpicamBackend,
    select_backend,
)
from services.camera import TestPattern as Pattern  # not a test class
from services.config import parse_config
from services.hub import Hub
from tui.app import PicentralApp

from .conftest import Client, config_for, wait_for, wait_until
from .test_config import REPO

DOUBLES = Path(__file__).parent / "doubles"


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(data)) as img:
        return img.size


@pytest.fixture
def picamera2(monkeypatch):
    monkeypatch.syspath_prepend(str(DOUBLES))
    sys.modules.pop("picamera2", None)
    import picamera2

    yield picamera2
    sys.modules.pop("picamera2", None)


@pytest.fixture
def rpicam(tmp_path, monkeypatch):
    """A stand-in `rpicam-still` on PATH: a real JPEG on stdout, or the real error."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "rpicam-still"
    script.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent("""
        import io, os, sys
        from PIL import Image
        args = sys.argv[1:]
        if os.environ.get("FAKE_RPICAM") == "nocam":
            sys.stderr.write("[0:00:00.1] [1] INFO Camera camera_manager.cpp:330 libcamera\\n")
            sys.stderr.write("ERROR: *** no cameras available ***\\n")
            sys.exit(255)
        assert args[:2] == ["-o", "-"] and "--immediate" in args and "-n" in args, args
        w, h, q = (int(args[args.index(f) + 1]) for f in ("--width", "--height", "-q"))
        buf = io.BytesIO()
        Image.new("RGB", (w, h), (200, 80, 40)).save(buf, "JPEG", quality=q)
        sys.stdout.buffer.write(buf.getvalue())
    """)
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return script


def test_picamera2_backend(picamera2):
    cam = Picamera2Backend()
    frame = cam.frame((160, 96))  # previews run in a preview configuration
    assert frame.size[0] <= 160 and frame.size[1] <= 96
    assert cam.cam.config["use_case"] == "preview"
    jpeg = cam.still(1280, 720, 70)  # a still switches mode for one capture, then back
    assert jpeg_size(jpeg) == (1280, 720)
    assert cam.cam.options["quality"] == 70
    assert cam.cam.config["use_case"] == "preview" and cam.cam.started
    cam.close()
    assert cam.cam.closed


@pytest.mark.parametrize("cameras", [[], "broken"])
def test_picamera2_without_a_camera(picamera2, cameras):
    picamera2.CAMERAS = cameras
    with pytest.raises(CameraError, match="no camera detected"):
        Picamera2Backend()


def test_rpicam_backend(rpicam):
    assert jpeg_size(RpicamBackend().still(800, 600, 80)) == (800, 600)


def test_rpicam_without_a_camera(rpicam, monkeypatch):
    monkeypatch.setenv("FAKE_RPICAM", "nocam")
    with pytest.raises(CameraError) as e:
        RpicamBackend().still(800, 600, 80)
    assert str(e.value) == NO_CAMERA


def test_auto_picks_what_works_and_says_why(rpicam, monkeypatch):
    cfg = parse_config({}).camera
    monkeypatch.setitem(sys.modules, "picamera2", None)  # not installed: ImportError
    backend, reason = select_backend(cfg)
    assert isinstance(backend, RpicamBackend) and "auto" in reason
    monkeypatch.setenv("FAKE_RPICAM", "nocam")
    backend, reason = select_backend(cfg)
    assert isinstance(backend, Pattern)
    assert "picamera2 is not installed" in reason and "no camera detected" in reason


def service(tmp_path, events, publish=None, **camera) -> CameraService:
    cfg = parse_config(
        {
            "camera": {
                "backend": "testpattern",
                "width": 320,
                "height": 240,
                "capture_dir": str(tmp_path / "caps"),
                **camera,
            }
        }
    ).camera
    return CameraService(cfg, publish=publish, on_event=events.append)


def test_captures_are_written_whole_sorted_and_bounded(tmp_path):
    events: list = []
    svc = service(tmp_path, events, keep_last=3)
    svc.open()
    for _ in range(5):
        assert svc.capture("test") is not None
    files = sorted((tmp_path / "caps").iterdir())
    assert len(files) == 3 and all(f.suffix == ".jpg" for f in files)  # no temp files left
    assert [e.capture.path for e in events[-3:]] == files  # names sort by time
    assert all(jpeg_size(f.read_bytes()) == (320, 240) for f in files)


def test_unwritable_folder_is_reported_and_the_loop_goes_on(tmp_path):
    blocker = tmp_path / "caps"
    blocker.write_text("a file where the folder should be")
    events: list = []
    svc = service(tmp_path, events)
    svc.start()
    try:
        svc.trigger("test")
        wait_for(lambda: any(isinstance(e, CaptureFailed) for e in events))
        assert "check camera.capture_dir" in events[-1].error
        blocker.unlink()
        svc.trigger("again")
        wait_for(lambda: isinstance(events[-1], CaptureDone))
    finally:
        svc.stop()


def test_triggers_during_a_capture_are_coalesced(tmp_path):
    events: list = []
    svc = service(tmp_path, events)
    assert svc.trigger("a") is True
    assert svc.trigger("b") is False  # one is already waiting: not queued
    svc.start()
    try:
        wait_for(lambda: len(events) == 1)
        assert svc.trigger("c") is True
        wait_for(lambda: len(events) == 2)
    finally:
        svc.stop()


def hub_for(port: int, tmp_path) -> Hub:
    cfg = config_for(port)
    camera = cfg.camera.model_copy(
        update={
            "backend": "testpattern",
            "width": 640,
            "height": 360,
            "capture_dir": str(tmp_path / "caps"),
        }
    )
    return Hub(cfg.model_copy(update={"camera": camera}))


async def test_key_c_captures_writes_and_publishes(mosquitto, client_factory, tmp_path):
    app = PicentralApp(hub_for(mosquitto.port, tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        sub = client_factory(mosquitto.port, subscribe="picentral/camera/#")
        await pilot.press("c")
        await wait_until(pilot, lambda: sub.received("picentral/camera/meta"))
        image = sub.wait_for("picentral/camera/image")
        meta = json.loads(sub.wait_for("picentral/camera/meta"))
        assert meta["sha256"] == hashlib.sha256(image).hexdigest()
        assert (meta["width"], meta["height"], meta["trigger"]) == (640, 360, "key")
        written = tmp_path / "caps" / meta["file"]
        assert written.read_bytes() == image
        await wait_until(pilot, lambda: any("captured" in str(n.title) for n in app._notifications))


def test_a_message_on_the_capture_topic_triggers_a_capture(mosquitto, tmp_path):
    hub = hub_for(mosquitto.port, tmp_path)
    hub.start()
    sub = Client(mosquitto.port, subscribe="picentral/camera/meta")
    try:
        wait_for(lambda: hub.mqtt.connected)
        Client(mosquitto.port).publish("picentral/camera/capture", "button")
        meta = json.loads(sub.wait_for("picentral/camera/meta"))
        assert meta["trigger"] == "mqtt"
        assert (tmp_path / "caps" / meta["file"]).exists()
    finally:
        sub.close()
        hub.stop()


def test_capture_command(tmp_path, rpicam):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[camera]\nbackend = "rpicam"\nwidth = 400\nheight = 300\n')
    out = tmp_path / "still.jpg"
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(cfg), "capture", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and jpeg_size(out.read_bytes()) == (400, 300)


def test_capture_command_without_a_camera(tmp_path, rpicam, monkeypatch):
    monkeypatch.setenv("FAKE_RPICAM", "nocam")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[camera]\nbackend = "rpicam"\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--config",
            str(cfg),
            "capture",
            "--out",
            str(tmp_path / "x.jpg"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"picentral: capture failed: {NO_CAMERA}"
    assert not (tmp_path / "x.jpg").exists()


def _bad_images() -> dict[str, bytes]:
    good = io.BytesIO()
    Pattern(lambda: 0).image(320, 240).save(good, "JPEG")
    bomb = io.BytesIO()
    Image.new("1", (50_000, 50_000)).save(bomb, "PNG")
    return {
        "truncated": (good.getvalue()[:1500], "damaged image"),
        "bomb": (bomb.getvalue(), "decompression bomb"),
        "random": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64, "not a readable image"),
        "huge": (b"\xff\xd8\xff" + bytes(20 * 1024 * 1024), "too large to preview"),
        "base64": (b"/9j/" + b"QUJD" * 200, "not a readable image"),
    }


async def test_image_sources_and_bad_images(mosquitto, client_factory, tmp_path):
    from textual.widgets import OptionList

    from tui.screens.image import ImageModal
    from tui.widgets.image_view import ImageView

    from .conftest import screen_text

    app = PicentralApp(hub_for(mosquitto.port, tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        cam = client_factory(mosquitto.port)
        frame = io.BytesIO()
        Pattern(lambda: 0).image(320, 240).save(frame, "JPEG")
        cam.publish("esp32/cam1/image", frame.getvalue())
        bad = _bad_images()
        for name, (payload, _) in bad.items():
            cam.publish(f"esp32/{name}/image", payload)
        await wait_until(pilot, lambda: app.hub.store.count("esp32/base64/image") == 1)
        await pilot.press("3")
        sources = app.screen.query_one("#sources", OptionList)
        await wait_until(pilot, lambda: sources.option_count == 1 + 1 + len(bad))
        view = app.screen.query_one(ImageView)

        async def show(topic: str) -> str:
            sources.highlighted = sources.get_option_index(topic)
            await pilot.press("enter")
            await wait_until(pilot, lambda: str(view.border_title).startswith(topic))
            await pilot.pause(0.1)
            return screen_text(app)

        assert "320×240" in await show("esp32/cam1/image")
        for name, (_, why) in bad.items():
            assert why in await show(f"esp32/{name}/image")
        assert app.is_running
        # the same from the Traffic screen's payload pane
        await pilot.press("1")
        app.traffic.show_topic("esp32/truncated/image")
        await pilot.pause(0.2)
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ImageModal))
        await wait_until(pilot, lambda: "damaged image" in screen_text(app))
        await pilot.press("escape")
    assert not (tmp_path / "caps").exists() or list((tmp_path / "caps").iterdir()) == []


def test_timed_captures(tmp_path):
    events: list = []
    svc = service(tmp_path, events, interval_s=0.2)
    svc.start()
    try:
        wait_for(lambda: sum(isinstance(e, CaptureDone) for e in events) >= 2)
        assert {e.capture.trigger for e in events} == {"timer"}
    finally:
        svc.stop()
