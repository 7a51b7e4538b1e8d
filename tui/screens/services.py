"""Screen 4, Services: is everything up? Checks, the broker, Node-RED, the Pi, tunnels."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Sparkline

from services.health import describe_node_red
from services.health_service import HealthReport
from services.hub import Hub

from ..text import safe
from ..widgets.broker_header import BrokerHeader
from ..widgets.facts_panel import Fact, FactsPanel
from ..widgets.key_footer import KeyFooter
from ..widgets.service_table import ServiceTable
from ..widgets.tunnel_table import TunnelTable


def duration(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes = s // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {s % 60}s"


def _per_s(per_min: str | None) -> str:
    try:
        return f"{float(per_min or '') / 60:,.1f}"
    except ValueError:
        return "?"


def broker_facts(report: HealthReport) -> tuple[list[Fact], Text | None]:
    b = report.broker
    facts: list[Fact] = []
    if b:
        facts += [
            ("version", safe(b.get("version", "?").removeprefix("mosquitto version "))),
            ("uptime", duration(float(b["uptime"].split()[0])) if "uptime" in b else "?"),
            ("clients", safe(b.get("clients", "?"))),
            (
                "msgs/s",
                f"{_per_s(b.get('received_per_min'))} in · {_per_s(b.get('sent_per_min'))} out",
            ),
            ("retained", safe(b.get("retained", "?"))),
            ("dropped", safe(b.get("dropped", "?"))),
        ]
    else:
        facts.append(("$SYS", "nothing yet (subscribe to $SYS/# and set sys_interval)"))
    note = None
    e = report.exposure
    if e is not None:
        where = ", ".join(e.addresses) or "?"
        facts.append(
            (
                "listening",
                f"{where} ({'other machines too' if e.reachable else 'this machine only'})",
            )
        )
        anonymous = {"accepted": "allowed", "not authorized": "refused"}.get(e.anonymous, "?")
        facts.append(
            (
                "anonymous",
                Text(anonymous, style="bold yellow" if anonymous == "allowed" else "green"),
            )
        )
        if e.warning:
            note = Text("⚠ " + e.warning, style="yellow")
    return facts, note


def node_red_facts(report: HealthReport) -> list[Fact]:
    info = report.node_red
    if info is None:
        return [("", "no node-red check in [[services.check]]")]
    facts: list[Fact] = [
        (
            "state",
            describe_node_red(info)
            if info.get("reachable")
            else Text("not reachable", style="bold red"),
        )
    ]
    if info.get("admin_auth") is False:
        facts.append(
            ("admin auth", Text("off — anyone who reaches it can edit flows", style="yellow"))
        )
    return facts


def pi_facts(report: HealthReport) -> list[Fact]:
    s = report.system
    if not s:
        return [("", "measuring…")]
    temp = s.get("temperature_c")
    throttled = s.get("throttled")
    return [
        ("load", f"{' '.join(str(x) for x in s['load'])} ({s['cpus']} CPUs)"),
        ("memory", f"{s['memory_used_pct']}% used, {s['memory_available_mb']:,} MB free"),
        (
            "disk",
            f"{s['disk_free_mb'] / 1024:,.1f} GB free for captures ({s['disk_used_pct']}% used)",
        ),
        ("temperature", f"{temp:.1f} °C" if temp is not None else "n/a"),
        (
            "throttling",
            "n/a (no vcgencmd)"
            if throttled is None
            else Text(", ".join(throttled), style="bold red")
            if throttled
            else "none",
        ),
        ("uptime", duration(s["uptime_s"])),
    ]


class ServicesScreen(Screen):
    BINDINGS = [Binding("r", "probe", "Probe now")]

    def __init__(self, hub: Hub) -> None:
        super().__init__(id="services")
        self.hub = hub
        self._report: HealthReport | None = None
        self._frame = 0

    def compose(self) -> ComposeResult:
        yield BrokerHeader()
        with Vertical(id="services-body"):
            table = ServiceTable(id="service-table")
            table.border_title = "services"
            yield table
            with Horizontal(id="service-panels"):
                yield FactsPanel("mosquitto", id="mosquitto-panel")
                yield FactsPanel("node-red", id="node-red-panel")
                yield FactsPanel("this pi", id="pi-panel")
            with Horizontal(id="sparklines"):
                yield Sparkline([], summary_function=max, id="cpu-spark")
                yield Sparkline([], summary_function=max, id="rate-spark")
            tunnels = TunnelTable(id="tunnel-table")
            tunnels.border_title = "tunnels — enter or t to start, stop, share"
            yield tunnels
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ServiceTable).focus()
        self.refresh_health(force=True)

    def on_screen_resume(self) -> None:
        self.refresh_health(force=True)

    def refresh_health(self, force: bool = False) -> None:
        """On every tick while shown: redraws only when the report or a tunnel changed."""
        self._frame += 1
        self.query_one(TunnelTable).sync(self.hub.tunnels.states(), self._frame)
        report = self.hub.health.report
        if report is self._report and not force:
            return
        self._report = report
        self.query_one(ServiceTable).sync(report.statuses, self.hub.now())
        facts, note = broker_facts(report)
        self.query_one("#mosquitto-panel", FactsPanel).show(facts, note)
        self.query_one("#node-red-panel", FactsPanel).show(node_red_facts(report))
        self.query_one("#pi-panel", FactsPanel).show(pi_facts(report))
        cpu = self.query_one("#cpu-spark", Sparkline)
        cpu.data = report.cpu_history or [0]
        cpu.border_title = (
            f"CPU % · now {report.cpu_history[-1]:.0f}" if report.cpu_history else "CPU %"
        )
        rate = self.query_one("#rate-spark", Sparkline)
        rate.data = report.rate_history or [0]
        rate.border_title = (
            f"msgs/s · now {report.rate_history[-1]:,.0f}" if report.rate_history else "msgs/s"
        )
        minutes = max(1, round(len(report.cpu_history) * 2 / 60))
        cpu.border_subtitle = rate.border_subtitle = f"last {minutes} min"

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, TunnelTable):
            self.app.action_tunnels()  # type: ignore[attr-defined]

    def action_probe(self) -> None:
        self.hub.health.probe_now()
        self.notify("probing…", timeout=2)
