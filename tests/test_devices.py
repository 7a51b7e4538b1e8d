"""The device roster fold: every convention, staleness, bad input (no broker needed)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from services.devices import STATES, Roster, make_conventions


def roster(stale_after_s: float = 120) -> Roster:
    return Roster(
        make_conventions(
            ["generic", "tasmota", "esphome", "homie", "homeassistant"],
            ["devices/+/status"],
            "picentral",
        ),
        stale_after_s=stale_after_s,
    )


def state(r: Roster, key: str) -> str:
    return r.devices[key].state


def test_generic_status_and_telemetry():
    r = roster()
    r.apply("devices/esp32-1/status", b"online", 1.0)
    r.apply(
        "devices/esp32-1/telemetry",
        json.dumps(
            {"rssi": -61, "ip": "192.168.1.20", "uptime": 3600, "heap": 180000, "fw": "1.4.2"}
        ).encode(),
        2.0,
    )
    d = r.devices["generic:esp32-1"]
    assert (d.state, d.rssi, d.ip, d.uptime, d.fw) == ("online", -61, "192.168.1.20", 3600, "1.4.2")
    assert d.command_topics == ("devices/esp32-1/cmd",)
    r.apply("devices/esp32-1/status", b"offline", 3.0)
    assert state(r, "generic:esp32-1") == "offline"


def test_tasmota_capitalised_lwt_state_and_teleperiod():
    r = roster(stale_after_s=120)
    r.apply("tele/plug-7/LWT", b"Online", 0.0)
    r.apply("tele/plug-7/STATE", b'{"UptimeSec": 42, "Wifi": {"RSSI": 84, "Signal": -58}}', 10.0)
    r.apply("tele/plug-7/INFO2", b'{"Info2": {"Hostname": "plug-7", "IPAddress": "10.0.0.7"}}', 11)
    r.apply("tele/plug-7/STATE", b'{"UptimeSec": 342, "Wifi": {"Signal": -60}}', 310.0)
    d = r.devices["tasmota:plug-7"]
    assert (d.state, d.rssi, d.uptime, d.ip) == ("online", -60, 342, "10.0.0.7")
    assert d.stale_after == 600  # twice the observed TelePeriod of 300 s
    assert "cmnd/plug-7/POWER" in d.command_topics
    r.expire(310 + 500)
    assert state(r, "tasmota:plug-7") == "online"  # within 2 × TelePeriod, not the default 120
    r.expire(310 + 601)
    assert state(r, "tasmota:plug-7") == "stale"
    r.apply("tele/plug-7/LWT", b"online", 1000)  # Tasmota capitalises: lower case is unknown
    assert state(r, "tasmota:plug-7") == "online"  # heard from again, but the value…
    assert "unknown LWT" in r.devices["tasmota:plug-7"].note
    r.apply("tele/plug-7/LWT", b"Offline", 1001)
    assert state(r, "tasmota:plug-7") == "offline"


def test_esphome_and_the_hub_itself_is_not_a_device():
    r = roster()
    r.apply("kitchen-node/status", b"online", 1.0)
    r.apply("kitchen-node/sensor/temperature/state", b"21.5", 2.0)
    r.apply("kitchen-node/switch/relay/state", b"ON", 2.0)
    r.apply("picentral/status", b"online", 2.0)
    assert state(r, "esphome:kitchen-node") == "online"
    assert r.devices["esphome:kitchen-node"].command_topics == (
        "kitchen-node/switch/relay/command",
    )
    assert not any(k.endswith(":picentral") for k in r.devices)


def test_homie_3_4_and_5():
    r = roster()
    r.apply("homie/boiler/$state", b"init", 1.0)
    assert state(r, "homie:boiler") == "starting"
    r.apply("homie/boiler/$state", b"ready", 2.0)
    r.apply("homie/boiler/$name", b"Boiler room", 2.0)
    r.apply("homie/boiler/$localip", b"10.0.0.9", 2.0)
    assert state(r, "homie:boiler") == "online"
    assert r.devices["homie:boiler"].name == "Boiler room"
    r.apply("homie/5/garage/$state", b"sleeping", 3.0)
    assert state(r, "homie:garage") == "sleeping"
    r.apply("homie/5/garage/$state", b"lost", 4.0)
    assert state(r, "homie:garage") == "offline"
    r.apply("homie/5/garage/$state", b"disconnected", 5.0)
    assert state(r, "homie:garage") == "offline"
    r.apply("homie/boiler/$state", b"exploded", 6.0)
    assert (
        state(r, "homie:boiler") == "online" and "unknown $state" in r.devices["homie:boiler"].note
    )


def test_home_assistant_discovery_with_its_own_payload_values():
    r = roster()
    config = {
        "~": "garden/pump",
        "name": "Pump",
        "avty_t": "~/avail",
        "pl_avail": "UP",
        "pl_not_avail": "DOWN",
        "cmd_t": "~/set",
        "dev": {"ids": ["pump-01"], "name": "Garden pump", "sw": "2.1"},
    }
    r.apply("homeassistant/switch/pump/config", json.dumps(config).encode(), 1.0)
    d = r.devices["homeassistant:pump-01"]
    assert (d.name, d.fw, d.command_topics) == ("Garden pump", "2.1", ("garden/pump/set",))
    r.apply("garden/pump/avail", b"UP", 2.0)
    assert state(r, "homeassistant:pump-01") == "online"
    r.apply("garden/pump/avail", b"DOWN", 3.0)
    assert state(r, "homeassistant:pump-01") == "offline"


def test_malformed_presence_never_breaks_the_roster():
    r = roster()
    r.apply("tele/x/STATE", b"{not json", 1.0)
    r.apply("homeassistant/sensor/big/config", b'{"a": "' + b"x" * 1_000_000 + b'"}', 2.0)
    r.apply("homeassistant/sensor/broken/config", b"[1, 2]", 3.0)
    r.apply("homeassistant/sensor/nofields/config", b"{}", 4.0)
    r.apply("devices/y/telemetry", b"\xff\xfe", 5.0)
    r.apply("devices/z/status", b"\x00\x1b[31m", 6.0)
    assert "tasmota:x" in r.devices and "not a JSON object" in r.devices["tasmota:x"].note
    assert "homeassistant:big" in r.devices  # shown with what could be read
    assert "no availability topic" in r.devices["homeassistant:nofields"].note
    assert all(d.state in STATES for d in r.devices.values())


def test_staleness_uses_the_time_it_is_given():
    r = roster(stale_after_s=60)
    r.apply("devices/a/status", b"online", 100.0)
    assert r.expire(159.0) == [] and state(r, "generic:a") == "online"
    assert [d.id for d in r.expire(161.0)] == ["a"]
    r.apply("devices/a/telemetry", b'{"rssi": -50}', 170.0)
    assert state(r, "generic:a") == "online"


def test_message_rate_per_minute():
    r = roster()
    r.apply("devices/a/status", b"online", 0.0)
    r.apply("devices/a/telemetry", b"{}", 30.0, count=9)
    assert r.devices["generic:a"].msgs_per_minute(31.0) == 10
    assert r.devices["generic:a"].msgs_per_minute(85.0) == 9


TOPICS = st.sampled_from(
    [
        "devices/d1/status",
        "devices/d1/telemetry",
        "devices/d2/status",
        "tele/t1/LWT",
        "tele/t1/STATE",
        "tele/t1/INFO1",
        "node1/status",
        "node1/sensor/x/state",
        "homie/h1/$state",
        "homie/5/h2/$state",
        "homie/h1/$name",
        "homeassistant/switch/s1/config",
        "s1/avail",
        "picentral/status",
        "random/topic",
    ]
)
PAYLOADS = st.one_of(
    st.sampled_from(
        [
            b"online",
            b"offline",
            b"Online",
            b"Offline",
            b"ready",
            b"lost",
            b"init",
            b"sleeping",
            b"alert",
            b"",
            b"{}",
            b"[]",
            b"null",
            b'{"avty_t": "s1/avail", "dev": {"ids": "s1"}}',
            b'{"Wifi": {"Signal": "x"}, "UptimeSec": {}}',
        ]
    ),
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(TOPICS, PAYLOADS, st.floats(0, 10_000)), max_size=60), st.floats(0, 20_000)
)
def test_any_sequence_folds_into_valid_states(messages, now):
    r = roster()
    for topic, payload, ts in messages:
        r.apply(topic, payload, ts)
    r.expire(now)
    assert all(d.state in STATES for d in r.devices.values())
    assert r.errors == 0
    json.dumps(r.to_json())  # the roster topic can always be published


def test_only_the_configured_conventions_and_status_topics():
    r = Roster(make_conventions(["generic"], ["boards/+/presence"], "picentral"))
    r.apply("boards/b1/presence", b"online", 1.0)
    r.apply("devices/d1/status", b"online", 1.0)  # not a configured pattern
    r.apply("tele/t1/LWT", b"Online", 1.0)  # tasmota not enabled
    r.apply("node/status", b"online", 1.0)  # esphome not enabled
    assert {k: d.state for k, d in r.devices.items()} == {"generic:b1": "online"}
    assert r.devices["generic:b1"].command_topics == ("boards/b1/cmd",)
