"""`?`: the keys and what the header says."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# picentral — keys

| key | does |
|---|---|
| `1` | Traffic: topic tree, payload, chart, live log |
| `p` | publish (topic prefilled with the selected one) |
| `/` | filter the log: an MQTT filter (`sensors/#`) or text; `esc` clears |
| `space` | pause / resume the live log |
| `delete` | clear the retained message of the selected topic (asks first) |
| `?` | this help |
| `ctrl+p` | command palette |
| `q` | quit |

## In the publish dialog
`tab` / `shift+tab` move between topic, payload, QoS and retain ·
`enter` in the topic or `ctrl+s` anywhere publishes · `↑` `↓` in the topic recall earlier
publishes · `f1`…`f9` fill in a preset from `[[publish.preset]]` · `esc` closes.

QoS 1 and 2 messages published while the broker is away are kept and sent on reconnect;
the result says **delivered** once the broker acknowledged them.

## The header
Broker address, *embedded broker* when picentral started its own, the connection state
(connected / reconnecting in N s / error and why), messages received since start and the
current rate.

Everything from the network is shown literally: markup, escape sequences and control
characters appear as text (`\\x1b`), never styled.
"""


class HelpModal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Markdown(HELP)
