"""Ingest benchmark: picentral against a bare paho subscriber, same broker, same run.

    python -m bench.ingest [ROUNDS]   (from the repo root, in the venv; ROUNDS default 3)

Prints one JSON object:
  baseline_paho_msgs_per_s   a bare paho subscriber (on_message counts, nothing else)
  picentral_msgs_per_s       socket to store with the App running headless
  ratio                      picentral / baseline (target >= 0.8)
  key_latency_ms             keypress to screen in the real terminal (tmux) during a flood
                             (target p95 <= 150)
  rss_mb                     resident memory (picentral and its MQTT client process) after
                             1,000,000 and 1,500,000 messages over
                             10,000 topics (history 100 per topic: the store is full at 1,000,000)
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from services.config import parse_config
from services.hub import Hub
from tests.brokers import Mosquitto
from tui.app import PicentralApp

N = 200_000
TOPICS = 1_000


def start_flood(port: int, count: int, topics: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.flood", str(port), str(count), str(topics)]
    )


def wait_count(get, target: int, timeout: float) -> tuple[float, float, int]:
    """(time of the first new message, time of the last, how many arrived)."""
    start = get()
    first = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = get() - start
        now = time.perf_counter()
        if n and first is None:
            first = now
        if n >= target:
            return first, now, n
        time.sleep(0.002)
    return first or 0.0, time.perf_counter(), get() - start


def baseline_paho(port: int, protocol: str) -> float:
    count = [0]
    lock = threading.Lock()

    def on_message(_c, _u, _m):
        with lock:
            count[0] += 1

    ready = threading.Event()
    proto = mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=proto)
    client.on_message = on_message
    client.on_subscribe = lambda *a: ready.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.subscribe("bench/#")
    ready.wait(5)
    flood = start_flood(port, N, TOPICS)
    first, last, got = wait_count(lambda: count[0], N, 120)
    flood.wait()
    client.disconnect()
    client.loop_stop()
    assert got == N, f"baseline received {got} of {N}"
    return N / (last - first)


def picentral_config(port: int, protocol: str = "3.1.1", history: int = 100) -> object:
    return parse_config(
        {
            "broker": {
                "port": port,
                "embedded": "never",
                "protocol": protocol,
                "subscriptions": ["bench/#"],
            },
            "ui": {"history_per_topic": history},
        }
    )


async def picentral_rate(port: int, protocol: str) -> float:
    app = PicentralApp(Hub(picentral_config(port, protocol)))
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.hub.mqtt.connected:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        store = app.hub.store

        # (b) rate, socket to store; the event loop keeps running the App meanwhile
        flood = start_flood(port, N, TOPICS)
        first, last, got = await asyncio.to_thread(wait_count, lambda: store.total, N, 120)
        flood.wait()
        assert got == N, f"picentral received {got} of {N}"
        rate = N / (last - first)

    return rate


def key_latency(port: int, tmp: Path) -> tuple[list[float], list[float], list[float]]:
    """Keypress to screen in a real terminal: the real `picentral` in tmux, during a flood.

    Time from `tmux send-keys` to `capture-pane` showing the change, polled every 5 ms
    (polling every 1 ms spawns so many tmux clients that they load the machine).
    Esc is measured apart: after a lone ESC byte a terminal app must wait to know it is
    not the start of an escape sequence (Textual's ESCDELAY, 100 ms); that wait is in its
    figure by design.
    """
    config = tmp / "bench.toml"
    config.write_text(f'[broker]\nport = {port}\nembedded = "never"\nprotocol = "3.1.1"\n')
    tmux = ["tmux", "-L", f"picentral-bench-{port}"]
    exe = Path(sys.executable).parent / "picentral"
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "160",
            "-y",
            "48",
            f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp} {exe} --config {config}",
        ],
        check=True,
    )

    def screen() -> str:
        return subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "b"], capture_output=True, text=True
        ).stdout

    def wait(pred, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not pred(screen()):
            if time.monotonic() > deadline:
                raise TimeoutError(screen())
            time.sleep(0.005)

    def press(key: str, shown) -> float:
        t0 = time.perf_counter()
        subprocess.run([*tmux, "send-keys", "-t", "b", key], check=True)
        wait(shown)
        return (time.perf_counter() - t0) * 1000

    def help_open(s: str) -> bool:
        return "picentral — keys" in s

    def help_closed(s: str) -> bool:
        return "picentral — keys" not in s

    def paused(s: str) -> bool:
        return "⏸ paused" in s.splitlines()[0]  # the header changes

    latencies: list[float] = []
    escapes: list[float] = []
    rates: list[float] = []  # what the header says during the samples: proof of the flood
    try:
        wait(lambda s: "● connected" in s)
        flood = start_flood(port, 4 * N, TOPICS)
        wait(lambda s: "bench" in s)  # the flood is on screen
        time.sleep(1)
        for _ in range(10):
            latencies.append(press("?", help_open))  # a modal opens
            latencies.append(press("?", help_closed))
            latencies.append(press("Space", paused))
            latencies.append(press("Space", lambda s: not paused(s)))
            press("?", help_open)
            escapes.append(press("Escape", help_closed))
            header = screen().splitlines()[0]
            rates.append(float(header.rsplit("·", 1)[1].split("/s")[0].replace(",", "")))
            time.sleep(0.2)
        flood.kill()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    return latencies, escapes, rates


def rss_mb(proc: psutil.Process) -> float:
    """The process and its children (the MQTT client process)."""
    return sum(p.memory_info().rss for p in (proc, *proc.children(recursive=True))) / 2**20


async def memory_run(port: int) -> dict:
    proc = psutil.Process()
    app = PicentralApp(Hub(picentral_config(port)))
    out: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.hub.mqtt.connected:
            await pilot.pause(0.05)
        out["rss_mb_start"] = rss_mb(proc)
        for total in (500_000, 1_000_000, 1_500_000):
            flood = subprocess.Popen(
                [sys.executable, "-m", "bench.flood", str(port), "500000", "10000"]
            )
            await asyncio.to_thread(wait_count, lambda: app.hub.store.total, 500_000, 300)
            flood.wait()
            await pilot.pause(0.5)
            out[f"rss_mb_after_{total}"] = rss_mb(proc)
        out["topics"] = len(app.hub.store.topics())
    return out


def child(*args: str) -> dict:
    """Run one measurement in a fresh process, as a real one would run."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--child", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(port: int, protocol: str, rounds: int) -> dict:
    """Interleaved rounds (baseline, picentral, baseline, ...): this machine's noise
    between runs is larger than the difference measured, so medians of rounds."""
    base, ours = [], []
    for _ in range(rounds):
        base.append(child("baseline", str(port), protocol)["rate"])
        ours.append(child("picentral", str(port), protocol)["rate"])
    b, o = statistics.median(base), statistics.median(ours)
    return {
        "baseline_paho_msgs_per_s": round(b),
        "picentral_msgs_per_s": round(o),
        "ratio": round(o / b, 3),
        "rounds": {"baseline": [round(x) for x in base], "picentral": [round(x) for x in ours]},
    }


def run_child(kind: str, port: int, protocol: str = "3.1.1") -> dict:
    if kind == "baseline":
        return {"rate": baseline_paho(port, protocol)}
    if kind == "picentral":
        return {"rate": asyncio.run(picentral_rate(port, protocol))}
    if kind == "memory":
        return asyncio.run(memory_run(port))
    raise ValueError(kind)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        kind, port, *rest = sys.argv[2:]
        print(json.dumps(run_child(kind, int(port), *rest)))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), ["allow_anonymous true", "max_queued_messages 0"]).start()
        try:
            mqtt311 = throughput(broker.port, "3.1.1", rounds)
            mqtt5 = throughput(broker.port, "5", rounds)
            lat, escapes, rates_seen = key_latency(broker.port, Path(tmp))
            lat.sort()
            mem = child("memory", str(broker.port))
        finally:
            broker.stop()
    cuts = statistics.quantiles(lat, n=20)
    result = {
        "messages": N,
        "topics": TOPICS,
        "mqtt_3_1_1": mqtt311,
        "mqtt_5": mqtt5,
        "key_latency_ms": {
            "p50": round(statistics.median(lat), 1),
            "p95": round(cuts[18], 1),
            "max": round(lat[-1], 1),
            "samples": len(lat),
            "msgs_per_s_on_screen_meanwhile": round(min(rates_seen)),
            "keys": "? opens help, ? closes it, space pauses, space resumes",
        },
        "escape_key_ms": {
            "p50": round(statistics.median(escapes), 1),
            "max": round(max(escapes), 1),
            "note": "includes the terminal's 100 ms wait after a lone ESC (ESCDELAY)",
        },
        "rss_mb": {
            k.removeprefix("rss_mb_"): round(v, 1) for k, v in mem.items() if k.startswith("rss_mb")
        },
        "memory_topics": mem["topics"],
        "targets": {"ratio": ">= 0.8", "key_latency_p95_ms": "<= 150", "rss_mb": "< 200, flat"},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
