"""Screen 3, Camera: the Pi camera live, other cameras' last frames, the last captures."""

from __future__ import annotations

import time

from paho.mqtt.client import topic_matches_sub
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from services.camera import CameraError
from services.images import ImageError, decode
from services.payload import human_size, literal

from ..graphics import fit_for
from ..pixels import source_size
from ..widgets.broker_header import BrokerHeader
from ..widgets.device_table import ago
from ..widgets.image_view import ImageView
from ..widgets.key_footer import KeyFooter

LIVE = "\x00live"  # the option id of the Pi camera (no topic contains NUL)


def _age(seconds: float) -> str:
    text = ago(seconds)
    return "just now" if text == "now" else f"{text} ago"


class CameraScreen(Screen):
    def __init__(self, hub) -> None:
        super().__init__(id="camera")
        self.hub = hub
        self.source = LIVE
        self._listed: list[str] = []

    def compose(self) -> ComposeResult:
        yield BrokerHeader()
        with Horizontal(id="camera-main"):
            yield ImageView(id="preview")
            with Vertical(id="camera-side"):
                yield OptionList(Option("● Pi camera (live)", id=LIVE), id="sources")
                yield Static("", id="captures")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#sources").border_title = "sources"
        self.query_one("#captures").border_title = "last captures"
        fps = self.hub.config.camera.preview_fps
        self.set_interval(1 / fps, self.refresh_preview, name="preview")
        self.set_interval(1.0, self.refresh_side, name="sources")

    def on_screen_resume(self) -> None:
        self.refresh_side()
        self.call_after_refresh(self.refresh_preview)  # once the layout knows the size

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_preview)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.source = event.option.id or LIVE
        self.refresh_preview()

    # --- the picture: decoded and drawn off the UI thread, newest only ------------------

    def refresh_preview(self) -> None:
        if self.app.screen is not self:
            return  # only what is visible is decoded
        view = self.query_one(ImageView)
        cols, rows = view.room()
        self.render_preview(self.source, cols, rows)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def render_preview(self, source: str, cols: int, rows: int) -> None:
        camera = self.hub.camera
        try:
            if source == LIVE:
                image = camera.frame(fit_for(self.app.picture, cols, rows))
                title = f"Pi camera — {camera.reason}"
            else:
                last = self.hub.store.last(source)
                if last is None:
                    raise ImageError("nothing received yet")
                image = decode(last.payload, fit_for(self.app.picture, cols, rows))
                title = f"{literal(source)} — {source_size(image)}"
            picture = self.app.picture(image, cols, rows)
            error = None
        except (CameraError, ImageError) as e:
            picture, error, title = None, str(e), literal(source if source != LIVE else "Pi camera")
        if get_current_worker().is_cancelled:
            return  # a newer frame is on its way
        self.app.call_from_thread(self._show, picture, error, title)

    # --- the side: sources and captures, once a second ------------------------------

    def image_topics(self) -> list[str]:
        filters = [*self.hub.config.camera.image_topics, self.hub.camera.image_topic]
        return sorted(
            t for t in self.hub.store.topics() if any(topic_matches_sub(f, t) for f in filters)
        )

    def refresh_side(self) -> None:
        now = self.hub.now()
        topics = self.image_topics()
        sources = self.query_one("#sources", OptionList)
        if topics != self._listed:
            self._listed = topics
            sources.clear_options()
            sources.add_option(Option("● Pi camera (live)", id=LIVE))
        for topic in topics:
            last = self.hub.store.last(topic)
            if last is None:
                continue
            label = Text.assemble(
                (literal(topic), "cyan"),
                "\n  ",
                (f"{human_size(len(last.payload))} · {_age(now - last.ts)}", "dim"),
            )
            try:
                sources.replace_option_prompt(topic, label)
            except Exception:  # not listed yet
                sources.add_option(Option(label, id=topic))
        lines = Text()
        for c in self.hub.camera.recent:
            lines.append(time.strftime("%H:%M:%S", time.localtime(c.ts)))
            lines.append(f"  {human_size(c.bytes)}  ", "dim")
            lines.append(c.trigger, "yellow")
            lines.append(f"\n  {c.path.name}\n", "dim")
        self.query_one("#captures", Static).update(lines or Text("none yet — press c", "dim"))

    def _show(self, picture, error: str | None, title: str) -> None:  # on the UI thread
        self.query_one(ImageView).show(picture, error, title)
