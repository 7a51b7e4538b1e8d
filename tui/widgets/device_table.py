"""The device roster as a table, updated by diff: only changed cells are touched."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from services.devices import Device
from services.payload import literal

COLUMNS = ("device", "convention", "state", "seen", "ip", "rssi", "uptime", "fw", "msg/min")
SORTS = ("state", "device", "seen", "rssi")  # `s` cycles through these
_AGE_WINDOW_MIN = 200

_STATE_STYLE = {
    "online": "bold green",
    "offline": "bold red",
    "stale": "bold yellow",
    "sleeping": "blue",
    "starting": "cyan",
}
_STATE_ORDER = {"offline": 0, "stale": 1, "starting": 2, "sleeping": 3, "online": 4}


def ago(seconds: float) -> str:
    """Coarse on purpose: a cell that changes every second costs a repaint every second."""
    s = max(0, int(seconds))
    if s < 5:
        return "now"
    if s < 60:
        return f"{s // 5 * 5}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _seconds(ago_text: str) -> int:
    if ago_text in ("", "now"):
        return 0
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[ago_text[-1]]
    return int(ago_text[:-1]) * unit


def duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60:02d}m"


class DeviceTable(DataTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._shown: dict[str, tuple] = {}  # cells on screen, by device key
        self._synced: dict[str, Device] = {}  # the device those cells were made from
        self._age_from = 0
        self.sort_by = "state"

    def on_mount(self) -> None:
        for name in COLUMNS:
            self.add_column(name, key=name)

    def cells(self, d: Device, now: float) -> tuple:
        style = _STATE_STYLE.get(d.state, "")
        dim = "dim" if d.state in ("offline", "stale") else ""
        label = f"{d.id} ({d.name})" if d.name and d.name != d.id else d.id
        return (
            Text(literal(label), style=dim or "bold", no_wrap=True),
            Text(d.convention, style="dim"),
            Text(d.state + (" !" if d.note else ""), style=style),
            ago(now - d.last_seen),
            Text(literal(d.ip)),
            "" if d.rssi is None else f"{d.rssi} dBm",
            duration(d.uptime),
            Text(literal(d.fw)),
            str(d.msgs_per_minute(now)),
        )

    def sync(self, devices: dict[str, Device], now: float) -> None:
        """Make the table show `devices`: add, remove and update only what differs.

        Devices are immutable and replaced when they change, so identity says which
        changed; the time columns ("seen", msg/min) age for all, and are refreshed for a
        rotating tenth of the rows per call (at 5,000 devices a full pass costs ~75 ms).
        """
        for key in [k for k in self._shown if k not in devices]:
            self.remove_row(key)
            del self._shown[key]
            del self._synced[key]
        keys = list(devices)
        window = max(_AGE_WINDOW_MIN, len(keys) // 10)
        due = set(keys[self._age_from : self._age_from + window])
        self._age_from = self._age_from + window if self._age_from + window < len(keys) else 0
        added = False
        for key, device in devices.items():
            if self._synced.get(key) is device and key not in due:
                continue
            self._synced[key] = device
            cells = self.cells(device, now)
            before = self._shown.get(key)
            if before is None:
                self.add_row(*cells, key=key)
                added = True
            elif before != cells:
                for column, old, new in zip(COLUMNS, before, cells, strict=True):
                    if old != new:
                        self.update_cell(key, column, new, update_width=True)
            self._shown[key] = cells
        if added:
            self.resort()

    def resort(self) -> None:
        """Sort by the chosen column, then by device id."""
        name = "device" if self.sort_by == "device" else self.sort_by

        def plain(value: object) -> str:
            return value.plain if isinstance(value, Text) else str(value)

        def key(values: tuple) -> tuple:
            first, device = plain(values[0]), plain(values[1])
            if name == "state":
                return (_STATE_ORDER.get(first.split()[0] if first else "", 9), device)
            if name == "rssi":
                return (-int(first.split()[0]) if first else 999, device)
            if name == "seen":
                return (_seconds(first), device)
            return (first, device)

        self.sort(name, "device", key=key)

    def cycle_sort(self) -> str:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.resort()
        return self.sort_by
