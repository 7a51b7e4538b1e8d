"""The tunnels dialog (`t`): start and stop each endpoint, copy its URL, show it as a QR."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from services.tunnels import TunnelService

from ..widgets.key_footer import KeyFooter
from ..widgets.qr_code import QrCode
from ..widgets.tunnel_table import TunnelTable
from .confirm import ConfirmModal


class TunnelsModal(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("t", "dismiss", "Close", show=False),
        Binding("o", "toggle_qr", "QR code"),
        Binding("i", "install", "Install ngrok"),
    ]

    def __init__(self, tunnels: TunnelService) -> None:
        super().__init__()
        self.tunnels = tunnels
        self._frame = 0
        self.qr_on = False
        self._qr_shown = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="tunnels-dialog"):
            table = TunnelTable(id="tunnels-table")
            table.border_title = "tunnels — enter starts or stops"
            yield table
            yield Static(id="tunnel-url")
            yield Static(id="tunnel-note")
            yield QrCode(id="tunnel-qr")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(TunnelTable).focus()
        self.refresh_tunnels()
        self.set_interval(0.1, self.refresh_tunnels, name="tunnels")

    def refresh_tunnels(self) -> None:
        self._frame += 1
        table = self.query_one(TunnelTable)
        table.sync(self.tunnels.states(), self._frame)
        state = self.tunnels.state(table.selected or "")
        url = self.query_one("#tunnel-url", Static)
        note = self.query_one("#tunnel-note", Static)
        missing = self.tunnels.agent_missing()
        if state is None:
            return
        url.update(Text(state.public_url, style="bold cyan") if state.public_url else "")
        if state.error:
            note.update(Text("✖ " + state.error, style="red"))
        elif missing:
            note.update(Text(f"{missing} — press i to install it with pyngrok", style="yellow"))
        elif state.warning:
            note.update(Text("⚠ " + state.warning, style="yellow"))
        else:
            note.update("")
        want = state.public_url if self.qr_on else ""
        if want != self._qr_shown:  # encoding a QR costs a few ms: only when it changes
            self._qr_shown = want
            qr = self.query_one(QrCode)
            qr.show(want)
            qr.display = bool(want)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        name = event.row_key.value
        state = self.tunnels.state(name or "")
        if state is None:
            return
        if state.state in ("online", "starting"):
            self.tunnels.stop(state.name)
            return
        self._start(state.name, confirmed=False)

    def _start(self, name: str, confirmed: bool) -> None:
        answer = self.tunnels.start(name, confirmed=confirmed)
        if answer.outcome == "refused":
            self.notify(answer.text, title=name, severity="error", timeout=8)
        elif answer.outcome == "confirm":

            def done(yes: bool | None) -> None:
                if yes:
                    self._start(name, confirmed=True)

            question = Text.assemble((f"Start the {name} tunnel?\n\n", "bold"), answer.text)
            self.app.push_screen(ConfirmModal(question, yes="Expose it"), done)

    def action_toggle_qr(self) -> None:
        state = self.tunnels.state(self.query_one(TunnelTable).selected or "")
        if not self.qr_on and (state is None or not state.public_url):
            self.notify("no public URL yet: start the tunnel first", timeout=3)
            return
        self.qr_on = not self.qr_on
        self.refresh_tunnels()

    def action_install(self) -> None:
        if not self.tunnels.agent_missing():
            self.notify(f"ngrok is installed at {self.tunnels.ngrok_path}", timeout=3)
            return
        self.tunnels.install()
        self.notify("downloading ngrok in the background…", timeout=4)
