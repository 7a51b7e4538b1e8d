"""Screen 1, Traffic: topic tree, payload pane, value chart and the live log."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Tree

from services.filters import MessageFilter
from services.store import MessageStore, Snapshot

from ..text import safe
from ..widgets.broker_header import BrokerHeader
from ..widgets.key_footer import KeyFooter
from ..widgets.message_log import MessageLog
from ..widgets.payload_view import PayloadView
from ..widgets.topic_tree import TopicNode, TopicTree
from ..widgets.value_chart import ValueChart
from .confirm import ConfirmModal
from .image import ImageModal


class TrafficScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("space", "toggle_pause", "Pause"),
        Binding("delete", "clear_retained", "Clear retained"),
        Binding("v", "view_image", "View image"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, store: MessageStore, *, log_lines: int, max_preview: int) -> None:
        super().__init__(id="traffic")
        self.store = store
        self.log_lines = log_lines
        self.max_preview = max_preview
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        yield BrokerHeader()
        with Horizontal(id="traffic-top"):
            yield TopicTree(id="tree")
            with Vertical(id="detail"):
                yield PayloadView(self.max_preview, id="payload")
                yield ValueChart(id="chart")
        yield Input(placeholder="filter: a/+/c, sensors/#, or text", id="filter")
        yield MessageLog(self.log_lines, id="log")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#tree").border_title = "topics"
        self.query_one("#payload").border_title = "payload"
        self.query_one("#chart").border_title = "history"
        self.query_one(MessageLog).set_paused(False)
        self.query_one(TopicTree).focus()

    # --- data, once per tick -----------------------------------------------------------

    def apply(self, snap: Snapshot) -> None:
        tree = self.query_one(TopicTree)
        tree.add_topics(snap.new_topics)
        tree.update_topics(snap.changed)
        self.query_one(MessageLog).add(snap.recent, snap.skipped)
        if self.selected is not None and any(s.topic == self.selected for s in snap.changed):
            self._show_selected()

    def _show_selected(self) -> None:
        topic = self.selected
        message = self.store.last(topic) if topic is not None else None
        self.query_one(PayloadView).show(message, self.store.count(topic) if topic else 0)
        self.query_one(ValueChart).show(self.store.history(topic) if topic else [])

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted[TopicNode]) -> None:
        data = event.node.data
        if data is not None and data.last is not None:
            self.select(data.path)

    def show_topic(self, topic: str) -> None:
        """Select `topic` in the tree and show it."""
        self.query_one(TopicTree).select_topic(topic)
        self.select(topic)

    def select(self, topic: str) -> None:
        if topic != self.selected:
            self.selected = topic
            self.query_one(PayloadView).shown_seq = None
            self.query_one("#payload").border_title = "payload"
        self._show_selected()

    # --- actions -----------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        log = self.query_one(MessageLog)
        if log.paused:
            log.set_paused(False)
            self._refill_log()
        else:
            log.set_paused(True)
        self.query_one(BrokerHeader).paused = log.paused

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(MessageLog).filter = MessageFilter(event.value)
        self._refill_log()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(TopicTree).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(TopicTree).focus()

    def _refill_log(self) -> None:
        self.query_one(MessageLog).show(self.store.recent(self.log_lines))

    def action_view_image(self) -> None:
        message = self.store.last(self.selected) if self.selected else None
        if message is None:
            self.notify("Select a topic first.", severity="warning")
            return
        self.app.push_screen(ImageModal(message.topic, message.payload))

    def action_clear_retained(self) -> None:
        topic = self.selected
        if topic is None:
            self.notify("Select a topic first.", severity="warning")
            return
        question = Text.assemble(
            "Clear the retained message of\n\n",
            safe(topic, "bold cyan"),
            "\n\nThe broker forgets it: clients that subscribe later no longer get it.",
        )

        def done(yes: bool | None) -> None:
            if yes:
                self.app.clear_retained(topic)  # type: ignore[attr-defined]
                self.query_one(TopicTree).remove_topic(topic)
                self.selected = None
                self.query_one(PayloadView).show(None)

        self.app.push_screen(ConfirmModal(question, yes="Clear"), done)
