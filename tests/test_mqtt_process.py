"""The MQTT client in its child process, against a real Mosquitto: batches reach the store
in order, hooks fire, publishes are reported, a dead child is restarted, the password
never reaches a command line, and a dead parent leaves the broker its Last Will."""

from __future__ import annotations

import os
import signal

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from services.events import ConnectionChanged, PublishResult
from services.mqtt_process import MqttProcess
from services.store import MessageStore

from .conftest import Client, config_for, wait_for
from .test_hub import start_serve


def started(port: int, **broker) -> tuple[MqttProcess, list[object]]:
    events: list[object] = []
    cfg = config_for(port, **broker).broker
    proc = MqttProcess(cfg, MessageStore(), status_topic="picentral/status", on_event=events.append)
    return proc, events


def test_messages_reach_the_store_in_order_with_properties_and_hooks(mosquitto):
    mq, _ = started(mosquitto.port, protocol="5", subscriptions=["plant/#"])
    hooked: list[bytes] = []
    mq.on_topic("picentral/camera/capture", hooked.append)  # outside the subscriptions
    mq.start()
    esp = Client(mosquitto.port, protocol=mqtt.MQTTv5)
    try:
        wait_for(lambda: mq.connected)
        for i in range(2000):
            esp.client.publish(f"plant/{i % 7}", str(i).encode(), qos=0)
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("unit", "°C")]
        esp.client.publish("plant/temp", b"21.5", qos=1, properties=props)
        esp.publish("picentral/camera/capture", b"now")
        wait_for(lambda: hooked == [b"now"])
        wait_for(lambda: mq.store.count("plant/temp") == 1)
        recent = [m for m in mq.store.recent() if m.topic.startswith("plant/") and m.qos == 0]
        assert [int(m.payload) for m in recent] == list(range(2000 - len(recent), 2000))
        assert mq.store.total == 2002
        assert mq.store.last("plant/temp").properties.UserProperty == [("unit", "°C")]
    finally:
        mq.stop()
        esp.close()


def test_publish_says_sent_then_delivered_and_refuses_qos0_offline(mosquitto):
    mq, events = started(mosquitto.port)
    sub = Client(mosquitto.port, subscribe="out/#")
    mq.start()
    try:
        wait_for(lambda: mq.connected)
        result = mq.publish("out/a", "hello", qos=1)
        assert (result.outcome, result.detail) == ("sent", "waiting for the broker's ack")
        assert sub.wait_for("out/a") == b"hello"
        wait_for(
            lambda: any(isinstance(e, PublishResult) and e.outcome == "delivered" for e in events)
        )
        assert mq.publish("out/#", "x").outcome == "failed"
        mosquitto.stop()
        wait_for(lambda: not mq.connected)
        offline = mq.publish("out/b", "lost", qos=0)
        assert offline.outcome == "failed" and "QoS 0 is not kept" in offline.detail
        assert mq.publish("out/c", "kept", qos=1).outcome == "queued"
    finally:
        mq.stop()
        sub.close()
    assert mq.state.status == "stopped"
    assert mq.publish("out/d", "x").detail == "the MQTT service is not started"


def test_a_dead_client_process_is_reported_and_restarted(mosquitto):
    mq, events = started(mosquitto.port, subscriptions=["plant/#"])
    mq.start()
    esp = Client(mosquitto.port)
    try:
        wait_for(lambda: mq.connected)
        first = mq._process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: "MQTT client process ended" in mq.state.reason)
        wait_for(lambda: mq.connected and mq._process.pid != first)
        esp.publish("plant/after", "1")
        wait_for(lambda: mq.store.count("plant/after") == 1)
        states = [e.state.status for e in events if isinstance(e, ConnectionChanged)]
        assert states.index("error") < len(states) - 1 and states[-1] == "connected"
    finally:
        mq.stop()
        esp.close()


def test_the_password_goes_through_the_pipe_not_the_command_line(mosquitto_password):
    mq, _ = started(mosquitto_password.port, username="pi", password="s3cret-Pa55")
    mq.start()
    try:
        wait_for(lambda: mq.connected)
        child = psutil.Process(mq._process.pid)
        assert "s3cret-Pa55" not in " ".join(child.cmdline())
        assert "s3cret-Pa55" not in str(child.environ())
    finally:
        mq.stop()


def test_the_client_process_leaves_with_its_killed_parent(mosquitto, tmp_path):
    proc, watcher = start_serve(mosquitto.port, tmp_path)
    try:
        children = psutil.Process(proc.pid).children()
        assert children, "serve runs its MQTT client in a child process"
        proc.kill()  # no stop(): the child must notice and leave without DISCONNECT
        wait_for(lambda: watcher.received("picentral/status")[-1:] == [b"offline"])
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive
    finally:
        proc.kill()
        watcher.close()
