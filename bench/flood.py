"""A fast QoS 0 publisher: pre-built MQTT 3.1.1 PUBLISH packets written to a raw socket.

Run as its own process (`python -m bench.flood PORT N TOPICS`), so the publisher never
competes for the GIL with the subscriber being measured; it is much faster than any
Python subscriber, so the subscriber is what the figures measure.
"""

from __future__ import annotations

import socket
import struct
import sys


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    data = s.encode()
    return struct.pack("!H", len(data)) + data


def connect_packet(client_id: str) -> bytes:
    body = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _utf8(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes) -> bytes:
    body = _utf8(topic) + payload
    return b"\x30" + _remaining_length(len(body)) + body


def flood(port: int, count: int, topics: int, prefix: str = "bench") -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(connect_packet(f"flood-{port}-{count}"))
        assert sock.recv(4)[:2] == b"\x20\x02", "no CONNACK"
        batch = bytearray()
        for i in range(count):
            batch += publish_packet(f"{prefix}/{i % topics}", b'{"seq":%d,"v":%d.5}' % (i, i % 97))
            if len(batch) > 256 * 1024:
                sock.sendall(batch)
                batch.clear()
        sock.sendall(batch)
        sock.sendall(b"\xe0\x00")  # DISCONNECT


if __name__ == "__main__":
    flood(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
