"""A picture drawn with half-block characters, or why it cannot be drawn."""

from __future__ import annotations

from rich.align import Align
from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Static

from services.payload import literal


class ImageView(Static):
    """Shows what a preview worker rendered; knows the pixels it has room for."""

    def room(self) -> tuple[int, int]:
        """(columns, rows) of content: the frame to render fits in cols × rows*2 pixels."""
        size = self.content_size
        return max(8, size.width), max(4, size.height)

    def show_picture(self, picture: RenderableType) -> None:
        self.update(Align.center(picture, vertical="middle"))

    def show_error(self, why: str) -> None:
        self.update(Align.center(Text(f"✖ {literal(why)}", style="bold red"), vertical="middle"))

    def show(self, picture: RenderableType | None, error: str | None, title: str) -> None:
        """What a preview worker produced: the picture, or why there is none."""
        self.border_title = title
        if error is None:
            self.show_picture(picture)
        else:
            self.show_error(error)
