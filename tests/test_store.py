"""The bounded store and the payload helpers, without a broker."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from services.filters import MessageFilter
from services.payload import classify, literal, number_in, one_line, preview
from services.store import MessageStore, RateMeter


def test_history_is_bounded_per_topic_and_the_log_overall():
    store = MessageStore(history_per_topic=5, log_size=20)
    for i in range(1000):
        store.add(f"t/{i % 10}", str(i).encode())
    assert store.total == 1000
    assert store.count("t/3") == 100
    assert [p for _, p in store.history("t/3")] == [b"953", b"963", b"973", b"983", b"993"]
    assert len(store.recent()) == 20
    assert store.last("t/9").payload == b"999"


def test_drain_reports_what_changed_and_caps_the_recent_messages():
    store = MessageStore()
    store.add("a", b"1")
    store.add("b", b"2")
    snap = store.drain(recent_limit=10)
    assert snap.new_topics == ["a", "b"]
    assert {s.topic for s in snap.changed} == {"a", "b"}
    assert [m.payload for m in snap.recent] == [b"1", b"2"] and snap.skipped == 0

    for i in range(500):
        store.add("a", str(i).encode())
    snap = store.drain(recent_limit=10)
    assert snap.new_topics == []
    assert [(s.topic, s.count) for s in snap.changed] == [("a", 501)]
    assert len(snap.recent) == 10 and snap.recent[-1].payload == b"499"
    assert snap.skipped == 490  # said, not silently lost
    assert store.drain().changed == []


def test_concurrent_writers_lose_nothing():
    store = MessageStore(history_per_topic=1)

    def write(n: int) -> None:
        for _ in range(5000):
            store.add(f"w/{n}", b"x")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.total == 20000
    assert sum(s.count for s in store.drain().changed) == 20000


def test_rate_meter():
    now = [0.0]
    meter = RateMeter(window_s=2, clock=lambda: now[0])
    meter.sample(0)
    for step in range(1, 11):
        now[0] = step * 0.5
        rate = meter.sample(step * 50)
    assert rate == 100


@given(st.text())
def test_literal_never_lets_a_control_character_through(text):
    shown = literal(text)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown
    assert not any(0x00 <= ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in shown)


@given(st.binary(max_size=300))
def test_previews_of_any_bytes_are_safe(data):
    for text in (one_line(data, 80), preview(data, 100).body):
        assert "\x1b" not in text and "\x00" not in text and "\r" not in text


def test_classify():
    assert classify(b"") == "empty"
    assert classify(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "jpeg"
    assert classify(b"\x89PNG\r\n\x1a\n....") == "png"
    assert classify(b"/9j/4AAQSkZJRgABAQ") == "base64-jpeg"
    assert classify(b'{"a": 1}') == "json"
    assert classify(b"[1, 2") == "text"
    assert classify(b"\x00\x01\x02\x03\x04") == "binary"
    assert classify(b"21.5") == "text"


def test_numbers_for_the_chart():
    assert number_in(b"21.5") == (21.5, "")
    assert number_in(b"21.5 \xc2\xb0C") == (21.5, "")
    assert number_in(b'{"sensor": "bme", "temp": -3.25, "hum": 40}') == (-3.25, "temp")
    assert number_in(b'{"env": {"t": 19}}') == (19.0, "env.t")
    assert number_in(b'{"ok": true}') is None
    assert number_in(b"online") is None
    assert number_in(b"nan") is None


def test_filter_topic_pattern_or_text():
    f = MessageFilter("devices/+/status")
    assert f.matches("devices/a/status", b"online")
    assert not f.matches("devices/a/telemetry", b"{}")
    text = MessageFilter("RSSI")
    assert text.matches("devices/a/telemetry", b'{"rssi": -60}')
    assert text.matches("x/rssi", b"")
    assert not text.matches("x/y", b"temp")
    assert MessageFilter("").matches("anything", b"")


def test_big_payloads_are_kept_whole_only_as_the_last_message():
    store = MessageStore(history_per_topic=10, log_size=100)
    frame = b"\xff\xd8\xff" + bytes(700_000)
    for _ in range(50):
        store.add("cam/image", frame)
    assert store.last("cam/image").payload == frame  # the payload pane and previews
    logged = store.recent()[-1]
    assert len(logged.payload) == 4096 and logged.length == 700_003
    assert all(p == b"" for _, p in store.history("cam/image"))  # no 7 MB of history
    from services.payload import one_line

    assert one_line(logged.payload, 80, logged.length) == "<jpeg image, 683.6 KB>"
