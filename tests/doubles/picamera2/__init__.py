"""A test double of Picamera2: the methods and exceptions picentral uses, as the real
library has them (no camera hardware exists here). Lives in tests/, never in services/.

Set `CAMERAS` to [] for "no camera" (IndexError from the constructor, as the real one) or
to "broken" for RuntimeError("Camera __init__ sequence did not complete.").
"""

from __future__ import annotations

import io

from PIL import Image

CAMERAS: list[dict] | str = [{"Model": "imx708", "Location": 2, "Rotation": 0, "Id": "/base"}]
calls: list[str] = []


class Picamera2:
    def __init__(self, camera_num: int = 0) -> None:
        if CAMERAS == "broken":
            raise RuntimeError("Camera __init__ sequence did not complete.")
        self.camera_info = CAMERAS[camera_num]  # IndexError with no camera, as the real one
        self.options: dict = {}
        self.config: dict | None = None
        self.started = False
        self.closed = False
        calls.append("__init__")

    @staticmethod
    def global_camera_info() -> list[dict]:
        return [] if CAMERAS == "broken" else list(CAMERAS)

    def create_still_configuration(
        self, main: dict | None = None, lores: dict | None = None, **kwargs
    ) -> dict:
        return {
            "use_case": "still",
            "main": {"format": "BGR888", "size": (4608, 2592), **(main or {})},
            "lores": lores,
            "buffer_count": 1,
        }

    def create_preview_configuration(
        self, main: dict | None = None, lores: dict | None = None, **kwargs
    ) -> dict:
        return {
            "use_case": "preview",
            "main": {"format": "XBGR8888", "size": (640, 480), **(main or {})},
            "lores": lores,
        }

    def configure(self, config: dict) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        self.config = config
        calls.append("configure")

    def start(self) -> None:
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    def capture_image(self, name: str = "main") -> Image.Image:
        if not self.started:
            raise RuntimeError("Camera is not running")
        size = self.config[name]["size"]  # type: ignore[index]
        return Image.new("RGB", size, (40, 120, 200))

    def capture_file(
        self, file_output, name: str = "main", format: str | None = None, wait=None
    ) -> dict:
        image = self.capture_image(name)
        fmt = format or str(file_output).rsplit(".", 1)[-1]
        buf = io.BytesIO()
        image.save(buf, fmt.upper().replace("JPG", "JPEG"), quality=self.options.get("quality", 90))
        if hasattr(file_output, "write"):
            file_output.write(buf.getvalue())
        else:
            with open(file_output, "wb") as f:
                f.write(buf.getvalue())
        calls.append("capture_file")
        return {}

    def switch_mode_and_capture_file(
        self,
        camera_config: dict,
        file_output,
        name: str = "main",
        format: str | None = None,
        wait=None,
        signal_function=None,
        delay: int = 0,
    ) -> dict:
        previous = self.config
        self.stop()
        self.configure(camera_config)
        self.start()
        try:
            return self.capture_file(file_output, name, format)
        finally:
            self.stop()
            self.configure(previous)  # type: ignore[arg-type]
            self.start()
