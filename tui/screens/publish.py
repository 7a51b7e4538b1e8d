"""`p`: publish a message — topic, multi-line payload, QoS, retain, presets, history."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static, TextArea

from services.config import PublishPreset
from services.topics import topic_problem

from ..widgets.history_input import HistoryInput


@dataclass(frozen=True)
class PublishRequest:
    topic: str
    payload: str
    qos: int
    retain: bool


class PublishModal(ModalScreen[PublishRequest | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("ctrl+s", "publish", "Publish", priority=True),
        *(Binding(f"f{i + 1}", f"preset({i})", show=False) for i in range(9)),
    ]

    def __init__(
        self,
        topic: str = "",
        presets: list[PublishPreset] | None = None,
        history: list[PublishRequest] | None = None,
    ) -> None:
        super().__init__()
        self.initial_topic = topic
        self.presets = (presets or [])[:9]
        self.history = history or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="publish-dialog") as dialog:
            dialog.border_title = "Publish"
            yield HistoryInput(
                [h.topic for h in self.history],
                value=self.initial_topic,
                placeholder="topic, e.g. devices/esp32-1/cmd",
                id="topic",
            )
            yield TextArea(id="payload", soft_wrap=True, show_line_numbers=False)
            with Horizontal(id="publish-options"):
                with RadioSet(id="qos"):
                    yield RadioButton("QoS 0", value=True)
                    yield RadioButton("QoS 1")
                    yield RadioButton("QoS 2")
                yield Checkbox("retain", id="retain")
            if self.presets:
                yield Static(self._preset_line(), id="presets")
            yield Static("", id="publish-error")
            yield Static(
                "enter in topic or ctrl+s publish · tab next field · ↑↓ history · esc close",
                classes="hint",
            )

    def _preset_line(self) -> Text:
        line = Text("presets  ", "dim")
        for i, p in enumerate(self.presets):
            line.append(f"f{i + 1}", "bold")
            line.append(f" {p.name}   ")
        return line

    def on_mount(self) -> None:
        self.query_one("#topic", Input).border_title = "topic"
        self.query_one("#payload", TextArea).border_title = "payload"
        self.query_one("#topic", Input).focus()

    # --- filling in ---------------------------------------------------------------

    def action_preset(self, index: int) -> None:
        if index < len(self.presets):
            p = self.presets[index]
            self._fill(p.topic, p.payload, p.qos, p.retain)

    @on(HistoryInput.Recalled)
    def _recalled(self, event: HistoryInput.Recalled) -> None:
        """Recalling an earlier publish brings back its payload, QoS and retain too."""
        h = self.history[event.index]
        self._fill(h.topic, h.payload, h.qos, h.retain, keep_topic=True)

    def _fill(
        self, topic: str, payload: str, qos: int, retain: bool, keep_topic: bool = False
    ) -> None:
        if not keep_topic:
            self.query_one("#topic", Input).value = topic
        self.query_one("#payload", TextArea).text = payload
        buttons = list(self.query(RadioButton))
        buttons[qos].value = True
        self.query_one("#retain", Checkbox).value = retain

    # --- publishing -----------------------------------------------------------------

    @on(Input.Submitted, "#topic")
    def _submitted(self) -> None:
        self.action_publish()

    def action_publish(self) -> None:
        topic = self.query_one("#topic", Input).value
        problem = topic_problem(topic)
        payload = self.query_one("#payload", TextArea).text
        if problem:
            self.query_one("#publish-error", Static).update(Text(f"✖ {problem}", "bold red"))
            self.query_one("#topic", Input).focus()
            return
        qos = self.query_one("#qos", RadioSet).pressed_index
        retain = self.query_one("#retain", Checkbox).value
        self.dismiss(PublishRequest(topic, payload, max(qos, 0), retain))
