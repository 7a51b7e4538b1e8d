"""Topic rules (MQTT 5 spec 4.7): what may be published to, what may be subscribed to."""

from __future__ import annotations


def topic_problem(topic: str) -> str | None:
    """Why `topic` cannot be published to, or None if it can."""
    if not topic:
        return "the topic is empty"
    if "\x00" in topic:
        return "the topic contains a NUL character"
    if "+" in topic or "#" in topic:
        return "wildcards + and # are only for subscribing, not publishing"
    if len(topic.encode("utf-8", "surrogatepass")) > 65535:
        return "the topic is longer than 65535 bytes"
    return None


def topic_filter_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid subscription filter, or None."""
    if not pattern:
        return "the filter is empty"
    if "\x00" in pattern:
        return "the filter contains a NUL character"
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "# must be a whole level and the last one"
        if "+" in level and level != "+":
            return "+ must be a whole level"
    return None
