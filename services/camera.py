"""The camera: backends that take JPEG stills, and the capture service.

Backends: Picamera2 (the real API, imported lazily: on a Pi it comes from the Debian
package python3-picamera2), the `rpicam-still` command (or `libcamera-still` on older
systems), and a generated test pattern so everything works without a camera.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from .config import CameraConfig

log = logging.getLogger(__name__)

NO_CAMERA = "no camera detected — check the ribbon cable, `rpicam-hello --list-cameras`"


class CameraError(Exception):
    """A capture that failed; the text says what to do."""


class Backend:
    name = ""

    def still(self, width: int, height: int, quality: int) -> bytes:
        """One JPEG still."""
        raise NotImplementedError

    def frame(self, fit: tuple[int, int]) -> Image.Image:
        """A preview frame that fits in `fit` pixels (default: a small still)."""
        from .images import decode

        return decode(self.still(640, 480, 70), fit)

    def close(self) -> None:
        pass


class TestPattern(Backend):
    """Colour bars that move, and the time: proves the whole path with no camera."""

    name = "testpattern"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def image(self, width: int, height: int) -> Image.Image:
        now = self.clock()
        img = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(img)
        colours = [
            (235, 235, 235),
            (235, 235, 16),
            (16, 235, 235),
            (16, 235, 16),
            (235, 16, 235),
            (235, 16, 16),
            (16, 16, 235),
            (16, 16, 16),
        ]
        bar = width / len(colours)
        shift = int((now * bar / 4) % width)  # the bars move: a frozen preview shows
        for i, colour in enumerate(colours):
            x0 = (int(i * bar) + shift) % width
            draw.rectangle([x0, 0, x0 + math.ceil(bar), height * 3 // 4], fill=colour)
            if x0 + bar > width:
                draw.rectangle([0, 0, x0 + bar - width, height * 3 // 4], fill=colour)
        draw.rectangle([0, height * 3 // 4, width, height], fill=(24, 24, 32))
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + " UTC"
        size = max(8, min(height // 12, width // 28))
        draw.text(
            (width // 20, height * 3 // 4 + height // 16),
            stamp,
            fill=(255, 255, 255),
            font_size=size,
        )
        return img

    def still(self, width: int, height: int, quality: int) -> bytes:
        out = io.BytesIO()
        self.image(width, height).save(out, "JPEG", quality=quality)
        return out.getvalue()

    def frame(self, fit: tuple[int, int]) -> Image.Image:
        return self.image(*fit)


class Picamera2Backend(Backend):
    """The Pi camera through Picamera2: a still configuration at the requested size."""

    name = "picamera2"

    def __init__(self) -> None:
        try:
            from picamera2 import Picamera2  # only on a Pi: imported when chosen
        except ImportError as e:
            raise CameraError(
                f"picamera2 is not installed ({e}) — on the Pi: `sudo apt install "
                "python3-picamera2` and a venv made with --system-site-packages"
            ) from None
        try:
            self.cam = Picamera2()
        except (IndexError, RuntimeError):
            raise CameraError(NO_CAMERA) from None
        self._running = False

    def _preview(self) -> None:
        """The camera runs in a preview configuration; stills switch mode for one frame."""
        if not self._running:
            config = self.cam.create_preview_configuration(
                main={"size": (640, 480)}, lores={"size": (320, 240)}
            )
            self.cam.configure(config)
            self.cam.start()
            self._running = True

    def frame(self, fit: tuple[int, int]) -> Image.Image:
        try:
            self._preview()
            img = self.cam.capture_image("main").convert("RGB")
        except RuntimeError as e:
            raise CameraError(f"the camera failed: {e} — try `rpicam-hello`") from None
        img.thumbnail(fit)
        return img

    def still(self, width: int, height: int, quality: int) -> bytes:
        try:
            self._preview()
            self.cam.options["quality"] = quality
            out = io.BytesIO()
            still = self.cam.create_still_configuration(main={"size": (width, height)})
            self.cam.switch_mode_and_capture_file(still, out, format="jpeg")
            return out.getvalue()
        except RuntimeError as e:
            raise CameraError(f"the camera failed: {e} — try `rpicam-still -o test.jpg`") from None

    def close(self) -> None:
        try:
            self.cam.stop()
        finally:
            self.cam.close()


class RpicamBackend(Backend):
    """`rpicam-still -o - --immediate -n -t 1 --width W --height H -q Q`: JPEG on stdout."""

    name = "rpicam"
    COMMANDS = ("rpicam-still", "libcamera-still")

    def __init__(self) -> None:
        found = next((c for c in self.COMMANDS if shutil.which(c)), None)
        if found is None:
            raise CameraError("rpicam-still not found — `sudo apt install rpicam-apps`")
        self.command = found

    def still(self, width: int, height: int, quality: int) -> bytes:
        args = [
            self.command,
            "-o",
            "-",
            "--immediate",
            "-n",
            "-t",
            "1",
            "--width",
            str(width),
            "--height",
            str(height),
            "-q",
            str(quality),
        ]
        try:
            done = subprocess.run(args, capture_output=True, timeout=30, check=False)
        except subprocess.TimeoutExpired:
            raise CameraError(f"{self.command} took over 30 s — is the camera busy?") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace")
            if "no cameras available" in err:
                raise CameraError(NO_CAMERA)
            last = err.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            raise CameraError(f"{self.command} failed: {last[0][:200]}")
        if not done.stdout.startswith(b"\xff\xd8\xff"):
            raise CameraError(f"{self.command} wrote no JPEG")
        return done.stdout


def select_backend(
    cfg: CameraConfig, clock: Callable[[], float] = time.time
) -> tuple[Backend | None, str]:
    """The backend to use and why (shown on the Camera screen)."""
    if cfg.backend == "none":
        return None, 'camera disabled (camera.backend = "none")'
    if cfg.backend == "testpattern":
        return TestPattern(clock), 'test pattern (camera.backend = "testpattern")'
    if cfg.backend == "picamera2":
        return Picamera2Backend(), "Picamera2"
    if cfg.backend == "rpicam":
        backend = RpicamBackend()
        return backend, backend.command
    reasons = []
    for make in (Picamera2Backend, RpicamBackend):
        try:
            backend = make()
        except CameraError as e:
            reasons.append(f"{make.name}: {e}")
            continue
        if isinstance(backend, RpicamBackend):
            try:  # the command exists; does it find a camera?
                backend.still(64, 48, 50)
            except CameraError as e:
                reasons.append(f"rpicam: {e}")
                continue
        return backend, f"{backend.name} (auto)"
    return TestPattern(clock), "test pattern (auto: " + "; ".join(reasons) + ")"


@dataclass(frozen=True, slots=True)
class Capture:
    path: Path
    bytes: int
    width: int
    height: int
    sha256: str
    trigger: str
    ts: float

    def meta(self) -> dict:
        return {
            "file": self.path.name,
            "bytes": self.bytes,
            "width": self.width,
            "height": self.height,
            "sha256": self.sha256,
            "trigger": self.trigger,
            "ts": round(self.ts, 3),
        }


@dataclass(frozen=True, slots=True)
class CaptureDone:
    capture: Capture


@dataclass(frozen=True, slots=True)
class CaptureFailed:
    trigger: str
    error: str


def write_capture(folder: Path, jpeg: bytes, ts: float) -> Path:
    """Write to a temp file, then rename: a reader never sees half a JPEG. Names sort by
    time and never overwrite."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(ts)) + f"-{int(ts * 1000) % 1000:03d}"
    path = folder / f"{stamp}.jpg"
    n = 1
    while path.exists():
        path = folder / f"{stamp}-{n}.jpg"
        n += 1
    tmp = folder / f".{path.name}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(jpeg)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def prune(folder: Path, keep_last: int) -> int:
    """Remove the oldest captures beyond keep_last; how many were removed."""
    files = sorted(folder.glob("*.jpg"))
    old = files[: max(0, len(files) - keep_last)]
    for f in old:
        f.unlink(missing_ok=True)
    return len(old)


class CameraService:
    """Captures on request (`c`, MQTT, a timer); triggers that arrive during a capture are
    coalesced into one more capture, never queued without bound."""

    def __init__(
        self,
        cfg: CameraConfig,
        *,
        publish: Callable[[str, bytes], object] | None = None,
        base_topic: str = "picentral",
        on_event: Callable[[object], None] | None = None,
        backend: tuple[Backend | None, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self._publish = publish
        self.image_topic = f"{base_topic}/camera/image"
        self.meta_topic = f"{base_topic}/camera/meta"
        self._emit = on_event or (lambda _e: None)
        self._clock = clock
        self._backend_choice = backend
        self.backend: Backend | None = None
        self.reason = "not started"
        self._wake = threading.Condition()
        self._pending: str | None = None  # the trigger of the next capture, if any
        self.busy = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self.last: Capture | None = None
        self.recent: deque[Capture] = deque(maxlen=10)
        self._use = threading.Lock()  # one user of the camera at a time: stills, previews

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="picentral-camera", daemon=True)
        self._thread.start()

    def open(self) -> None:
        """Choose and open the backend (blocking: the camera thread calls it)."""
        try:
            choice = self._backend_choice or select_backend(self.cfg, self._clock)
            self.backend, self.reason = choice
        except CameraError as e:
            self.backend, self.reason = None, str(e)

    def trigger(self, why: str) -> bool:
        """Ask for a capture; False if one is already waiting (coalesced)."""
        with self._wake:
            if self._pending is not None:
                return False
            self._pending = why
            self._wake.notify()
            return True

    def _run(self) -> None:
        self.open()
        next_timed = self._clock() + self.cfg.interval_s if self.cfg.interval_s else None
        while True:
            with self._wake:
                while self._pending is None and not self._stop:
                    timeout = None if next_timed is None else max(0, next_timed - self._clock())
                    if not self._wake.wait(timeout) and next_timed is not None:
                        self._pending = "timer"
                if self._stop:
                    return
                why, self._pending = self._pending, None
                self.busy = True
            try:
                self.capture(why)
            finally:
                self.busy = False
            if next_timed is not None and why == "timer":
                next_timed = self._clock() + self.cfg.interval_s

    def capture(self, why: str) -> Capture | None:
        """One capture now (on the calling thread); the result is also an event."""
        if self.backend is None:
            self._emit(CaptureFailed(why, self.reason))
            return None
        try:
            with self._use:
                jpeg = self.backend.still(self.cfg.width, self.cfg.height, self.cfg.jpeg_quality)
            ts = self._clock()
            with Image.open(io.BytesIO(jpeg)) as img:
                width, height = img.size
            path = write_capture(self.cfg.folder, jpeg, ts)
            prune(self.cfg.folder, self.cfg.keep_last)
        except CameraError as e:
            self._emit(CaptureFailed(why, str(e)))
            return None
        except OSError as e:
            where = self.cfg.folder
            hint = (
                "disk full — free space or lower camera.keep_last"
                if e.errno == 28
                else (f"cannot write to {where} — check camera.capture_dir and its permissions")
            )
            self._emit(CaptureFailed(why, f"{e.strerror or e}: {hint}"))
            return None
        result = Capture(path, len(jpeg), width, height, hashlib.sha256(jpeg).hexdigest(), why, ts)
        self.last = result
        self.recent.appendleft(result)
        if self._publish is not None:
            self._publish(self.image_topic, jpeg)
            self._publish(self.meta_topic, json.dumps(result.meta()).encode())
        self._emit(CaptureDone(result))
        return result

    @property
    def capturing(self) -> bool:
        """A capture is waiting or running (the header shows it)."""
        return self.busy or self._pending is not None

    def frame(self, fit: tuple[int, int]) -> Image.Image:
        """A preview frame (any thread; waits while a still is being taken)."""
        if self.backend is None:
            raise CameraError(self.reason)
        w, h = fit  # the camera's aspect ratio, not the pane's
        aspect = self.cfg.width / self.cfg.height
        w, h = (int(h * aspect), h) if w / h > aspect else (w, int(w / aspect))
        with self._use:
            return self.backend.frame((max(w, 8), max(h, 4)))

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(5)
        if self.backend is not None:
            self.backend.close()
