"""`v` on an image payload: the picture, decoded off the UI thread, or why not."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.worker import get_current_worker

from services.images import ImageError, decode
from services.payload import literal

from ..graphics import fit_for
from ..pixels import source_size
from ..widgets.image_view import ImageView


class ImageModal(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("v", "dismiss", show=False)]

    def __init__(self, topic: str, payload: bytes) -> None:
        super().__init__()
        self.topic = topic
        self.payload = payload

    def compose(self) -> ComposeResult:
        view = ImageView(id="image-view", classes="dialog")
        view.border_title = literal(self.topic)
        yield view

    def on_mount(self) -> None:
        self.query_one(ImageView).update("decoding…")
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        cols, rows = self.query_one(ImageView).room()
        self.render_image(cols, rows)

    @work(thread=True, exclusive=True, group="image", exit_on_error=False)
    def render_image(self, cols: int, rows: int) -> None:
        try:
            image = decode(self.payload, fit_for(self.app.picture, cols, rows))
            picture, error = self.app.picture(image, cols, rows), None
            caption = f"{literal(self.topic)} — {source_size(image)} shown"
        except ImageError as e:
            picture, error, caption = None, str(e), literal(self.topic)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, picture, error, caption)

    def _show(self, picture, error: str | None, title: str) -> None:  # on the UI thread
        self.query_one(ImageView).show(picture, error, title)
