"""The footer of keys, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer recomposes (about 20 key widgets, each styled anew) whenever its
    screen's bindings are updated — on every focus change, so on every modal closed. At a
    message flood that was most of the ~100 ms it took to close the help. Here it
    recomposes only when the keys shown differ."""

    _shown: tuple | None = None

    def __init__(self) -> None:
        super().__init__(compact=True)  # every screen's keys fit 160 columns

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = tuple(
                (binding.key, binding.description, enabled)
                for _node, binding, enabled, _tip in screen.active_bindings.values()
                if binding.show
            )
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
