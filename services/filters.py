"""The `/` filter of the live log: an MQTT topic filter, or text in topics and payloads."""

from __future__ import annotations

from paho.mqtt.client import topic_matches_sub

from .topics import topic_filter_problem

_PAYLOAD_SCAN = 4096  # a filter looks at the start of a payload, not 5 MB of it


class MessageFilter:
    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self._needle = self.text.lower().encode("utf-8")
        is_filter = any(c in self.text for c in "+#/") and topic_filter_problem(self.text) is None
        self._pattern = self.text if is_filter else None

    def __bool__(self) -> bool:
        return bool(self.text)

    def matches(self, topic: str, payload: bytes) -> bool:
        if not self.text:
            return True
        if self._pattern is not None and topic_matches_sub(self._pattern, topic):
            return True
        if self._needle in topic.lower().encode("utf-8", "surrogatepass"):
            return True
        return self._needle in payload[:_PAYLOAD_SCAN].lower()
