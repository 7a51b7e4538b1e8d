"""The topic tree: one node per topic level, with message counts and the last value.

Labels are drawn from the node data at render time, so a tick updates plain Python
fields and repaints only the visible lines, whatever the number of changed topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from services.payload import literal, one_line
from services.store import Message, TopicState

SYS_PREFIX = "$SYS"
_ROOT = "\x00"  # no topic contains NUL, so no topic collides with the root's key


@dataclass(slots=True)
class TopicNode:
    path: str  # the full topic of this level
    name: str
    own: int = 0  # messages on exactly this topic
    total: int = 0  # messages on this topic and below
    last: Message | None = None  # for topics that had a message
    _preview: tuple[int, str] = (0, "")  # (seq, text): formatted when drawn, once

    @property
    def preview(self) -> str | None:
        """The last value on one line; formatted only for rows that are drawn."""
        if self.last is None:
            return None
        if self._preview[0] != self.last.seq:
            self._preview = (self.last.seq, one_line(self.last.payload, 80))
        return self._preview[1]


class TopicTree(Tree[TopicNode]):
    BINDINGS = [Binding("space", "screen.toggle_pause", "Pause")]  # not Tree's toggle
    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("topics", data=TopicNode("", "topics"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self._by_topic: dict[str, TreeNode[TopicNode]] = {_ROOT: self.root}

    # --- feeding ------------------------------------------------------------------

    def add_topics(self, topics: list[str]) -> None:
        for topic in topics:
            self._ensure(topic)

    def update_topics(self, changed: list[TopicState]) -> None:
        if not changed:
            return
        touched: set[TreeNode[TopicNode]] = set()
        for st in changed:
            node = self._by_topic.get(st.topic) or self._ensure(st.topic)
            data = node.data
            assert data is not None
            delta = st.count - data.own
            data.own = st.count
            data.last = st.last
            while node is not None and node.data is not None:
                node.data.total += delta
                touched.add(node)
                node = node.parent
        self._updates += 1  # invalidates the line cache; only repainted lines re-render
        self._repaint(touched)

    def _repaint(self, nodes: set[TreeNode[TopicNode]]) -> None:
        """Repaint the visible lines of `nodes`: at a flood, a line or two, not the tree."""
        top = self.scroll_offset.y
        for y, line in enumerate(self._tree_lines[top : top + self.size.height], top):
            if line.node in nodes:
                self._refresh_line(y)

    def remove_topic(self, topic: str) -> None:
        node = self._by_topic.get(topic)
        if node is None or node.data is None:
            return
        lost = node.data.own
        node.data.own, node.data.last = 0, None
        parent = node
        while parent is not None and parent.data is not None:
            parent.data.total -= lost
            parent = parent.parent
        if not node.children:
            node.remove()
            self._by_topic.pop(topic, None)
        self._updates += 1
        self.refresh()

    def _ensure(self, topic: str) -> TreeNode[TopicNode]:
        node = self._by_topic.get(topic)
        if node is not None:
            return node
        parent_path, sep, name = topic.rpartition("/")
        parent = self._ensure(parent_path) if sep else self.root  # "/a" has a level ""
        node = parent.add(name, data=TopicNode(topic, name), before=self._slot(parent, name))
        node.allow_expand = False
        parent.allow_expand = True
        self._by_topic[topic] = node
        return node

    @staticmethod
    def _slot(parent: TreeNode[TopicNode], name: str) -> int | None:
        """Children sorted by name, `$SYS` last in its own branch (binary search)."""
        key = _sort_key(name)
        children = parent.children
        lo, hi = 0, len(children)
        while lo < hi:
            mid = (lo + hi) // 2
            if _sort_key(children[mid].data.name) < key:  # type: ignore[union-attr]
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(children) else None

    def node_for(self, topic: str) -> TreeNode[TopicNode] | None:
        return self._by_topic.get(topic)

    def select_topic(self, topic: str) -> None:
        """Expand the way to `topic` and put the cursor on it."""
        node = self._by_topic.get(topic)
        if node is None:
            return
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent
        # the lines (and so the node's line number) exist only after the next rebuild
        self.call_after_refresh(self.move_cursor, node)

    # --- drawing -------------------------------------------------------------------------

    def render_label(self, node: TreeNode[TopicNode], base_style: Style, style: Style) -> Text:
        data = node.data
        if data is None or node is self.root:
            return Text("topics")
        prefix = ""
        if node.allow_expand:
            prefix = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        label = Text(prefix, style=base_style, no_wrap=True, end="")
        name_style = "bold magenta" if data.path == SYS_PREFIX else "bold"
        label.append(literal(data.name) or "∅", style=name_style)
        if node.allow_expand:
            label.append(f" ({data.total:,})", style="dim")
        preview = data.preview
        if preview is not None:
            label.append(" = ", style="dim")
            retained = data.last is not None and data.last.retain
            label.append(preview, style="cyan" if retained else "green")
            if not node.allow_expand and data.own > 1:
                label.append(f" ({data.own:,})", style="dim")
        label.stylize(style)
        return label

    def get_label_width(self, node: TreeNode[TopicNode]) -> int:
        # labels change every tick; measuring them all on each rebuild costs too much
        return self.size.width or 40


def _sort_key(name: str) -> tuple[int, str]:
    return (1 if name == SYS_PREFIX else 0, name)
