"""Device roster benchmark: the fold's throughput and one screen refresh at 5,000 devices.

    python -m bench.devices          (from the repo root, in the venv)

Prints one JSON object. Baselines measured in the same run:
  fold: json.loads of the same payloads into a plain dict (the floor of any fold);
  screen: rebuilding the whole table (clear + 5,000 rows) versus our diff of one
  second's changes at 100 msgs/s.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time

from services.config import parse_config
from services.devices import Roster, make_conventions
from services.hub import Hub
from tui.app import PicentralApp
from tui.widgets.device_table import DeviceTable

DEVICES = 5_000
MESSAGES = 200_000


def messages(rng: random.Random) -> list[tuple[str, bytes]]:
    out = []
    for i in range(MESSAGES):
        d = rng.randrange(DEVICES)
        kind = d % 4
        if kind == 0:
            out.append(
                (
                    f"devices/esp-{d}/telemetry",
                    json.dumps(
                        {
                            "rssi": -50 - d % 40,
                            "ip": f"10.0.{d // 250}.{d % 250}",
                            "uptime": i,
                            "heap": 180000,
                            "fw": "1.4.2",
                        }
                    ).encode(),
                )
            )
        elif kind == 1:
            out.append(
                (
                    f"tele/plug-{d}/STATE",
                    json.dumps({"UptimeSec": i, "Wifi": {"Signal": -60}}).encode(),
                )
            )
        elif kind == 2:
            out.append((f"node-{d}/status", rng.choice([b"online", b"offline"])))
        else:
            out.append((f"homie/h-{d}/$state", rng.choice([b"ready", b"lost", b"sleeping"])))
    return out


def fold_rates(msgs: list[tuple[str, bytes]]) -> dict:
    floor: dict = {}
    t0 = time.perf_counter()
    for topic, payload in msgs:
        try:
            floor[topic] = json.loads(payload)
        except ValueError:
            floor[topic] = payload
    baseline = len(msgs) / (time.perf_counter() - t0)

    roster = Roster(
        make_conventions(
            ["generic", "tasmota", "esphome", "homie"], ["devices/+/status"], "picentral"
        )
    )
    t0 = time.perf_counter()
    for ts, (topic, payload) in enumerate(msgs):
        roster.apply(topic, payload, float(ts) / 100)
    rate = len(msgs) / (time.perf_counter() - t0)
    return {
        "fold_msgs_per_s": round(rate),
        "baseline_json_loads_msgs_per_s": round(baseline),
        "ratio": round(rate / baseline, 3),
        "devices": len(roster.devices),
    }


async def screen_refresh(msgs: list[tuple[str, bytes]]) -> dict:
    cfg = parse_config({"broker": {"embedded": "never"}})
    hub = Hub(cfg)
    roster = hub.devices.roster
    for ts, (topic, payload) in enumerate(msgs):
        roster.apply(topic, payload, float(ts) / 100)
    app = PicentralApp(hub, start_hub=False)
    diffs, rebuilds = [], []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")
        await pilot.pause(0.2)
        table = app.screen.query_one(DeviceTable)
        now = len(msgs) / 100
        table.sync(dict(roster.devices), now)
        rng = random.Random(7)
        tail = msgs[-20_000:]
        for round_ in range(10):
            # one second at 100 msgs/s: 100 messages into the roster
            for topic, payload in rng.sample(tail, 100):
                roster.apply(topic, payload, now)
            now += 1
            devices = dict(roster.devices)
            t0 = time.perf_counter()
            with app.batch_update():
                table.sync(devices, now)
            diffs.append((time.perf_counter() - t0) * 1000)
            await pilot.pause(0)
            if round_ < 3:  # the baseline is slow: three rounds suffice
                t0 = time.perf_counter()
                with app.batch_update():
                    table.clear()
                    for key, device in devices.items():
                        table.add_row(*table.cells(device, now), key=key)
                rebuilds.append((time.perf_counter() - t0) * 1000)
                table._shown = {k: table.cells(d, now) for k, d in devices.items()}
                table._synced = dict(devices)
                await pilot.pause(0)
    diff, rebuild = statistics.median(diffs), statistics.median(rebuilds)
    return {
        "devices_on_screen": len(roster.devices),
        "refresh_by_diff_ms": round(diff, 2),
        "baseline_full_rebuild_ms": round(rebuild, 2),
        "ratio": round(diff / rebuild, 3),
    }


def main() -> None:
    msgs = messages(random.Random(1))
    result = {
        "messages": MESSAGES,
        "fold": fold_rates(msgs),
        "screen": asyncio.run(screen_refresh(msgs)),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
