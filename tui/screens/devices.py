"""Screen 2, Devices: the boards the roster knows, whatever firmware they run."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable

from services.device_service import DeviceService

from ..text import safe
from ..widgets.broker_header import BrokerHeader
from ..widgets.device_table import DeviceTable
from ..widgets.key_footer import KeyFooter
from .confirm import ConfirmModal
from .device import DeviceModal


class DevicesScreen(Screen):
    BINDINGS = [
        Binding("s", "sort", "Sort"),
        Binding("delete", "forget", "Forget"),
    ]

    def __init__(self, devices: DeviceService) -> None:
        super().__init__(id="devices")
        self.devices = devices
        self._version = -1
        self._synced_at = 0.0

    def compose(self) -> ComposeResult:
        yield BrokerHeader()
        yield DeviceTable(id="device-table")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(DeviceTable).focus()
        self.refresh_roster(force=True)

    def on_screen_resume(self) -> None:
        self.refresh_roster(force=True)

    def refresh_roster(self, force: bool = False) -> None:
        """Called on every tick while shown; diffs only when the roster moved (or every 2 s,
        for the "seen" column)."""
        now = self.devices.now()
        version, devices = self.devices.snapshot()
        if not force and version == self._version and now - self._synced_at < 2:
            return
        self._version, self._synced_at = version, now
        table = self.query_one(DeviceTable)
        table.sync(devices, now)
        online = sum(1 for d in devices.values() if d.state == "online")
        table.border_title = f"devices — {online} online / {len(devices)} known"
        table.border_subtitle = f"sorted by {table.sort_by}"

    def action_sort(self) -> None:
        table = self.query_one(DeviceTable)
        table.border_subtitle = f"sorted by {table.cycle_sort()}"

    def _selected_key(self) -> str | None:
        table = self.query_one(DeviceTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        device = self.devices.snapshot()[1].get(key or "")
        if device is not None:
            self.app.push_screen(DeviceModal(device, self.app.hub))  # type: ignore[attr-defined]

    def action_forget(self) -> None:
        key = self._selected_key()
        device = self.devices.snapshot()[1].get(key or "")
        if device is None:
            return
        question = Text.assemble(
            "Forget ",
            safe(device.id, "bold cyan"),
            f" ({device.convention})?\n\n",
            "Its retained messages are cleared on the broker, so it no longer shows up as "
            "known. For boards that were retired; a board that comes back reappears.",
        )

        def done(yes: bool | None) -> None:
            if yes:
                self.app.forget_device(device)  # type: ignore[attr-defined]
                self.refresh_roster(force=True)

        self.app.push_screen(ConfirmModal(question, yes="Forget"), done)
