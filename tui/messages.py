"""App-wide Textual messages: small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class HubEvent(Message):
    """A low-rate event from the services (connection, publish result, notice, device,
    capture); the app decides how to show it."""

    event: object
