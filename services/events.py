"""Low-rate events of the MQTT service and the hub (connection changes, publish results,
notices). The device and camera services define theirs beside them (DeviceChanged,
CaptureDone, CaptureFailed).

Plain dataclasses: the TUI wraps them in a Textual message and posts them; `serve` logs
them. Never used per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConnectionStatus = Literal["connecting", "connected", "reconnecting", "error", "stopped"]
PublishOutcome = Literal["sent", "delivered", "queued", "failed"]


@dataclass(frozen=True, slots=True)
class ConnectionState:
    status: ConnectionStatus
    reason: str = ""
    retry_at: float | None = None  # time.monotonic() of the next attempt, when known
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    state: ConnectionState


@dataclass(frozen=True, slots=True)
class PublishResult:
    topic: str
    qos: int
    outcome: PublishOutcome
    detail: str = ""
    mid: int | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a person should read (embedded broker started, a service note)."""

    text: str
    severity: Literal["information", "warning", "error"] = "information"
