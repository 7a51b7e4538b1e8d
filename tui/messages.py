"""App-wide Textual messages: small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class HubEvent(Message):
    """A low-rate event from the services (connection change, publish result, notice)."""

    event: object


@dataclass
class TopicChosen(Message):
    """The user picked a topic (in the tree or the log)."""

    topic: str
