"""Connection handling against real brokers: restart, queued QoS 1, password, TLS."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from services.events import ConnectionChanged, PublishResult
from services.hub import Hub
from services.mqtt import MqttService
from services.store import MessageStore
from tui.app import PicentralApp

from .conftest import Client, config_for, screen_text, wait_for, wait_until


def header(app) -> str:
    return screen_text(app).splitlines()[0]


async def test_broker_restart_reconnects_resubscribes_and_delivers_queued(
    mosquitto, client_factory
):
    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        esp = client_factory(mosquitto.port)
        esp.publish("plant/before", "1")
        await wait_until(pilot, lambda: app.hub.store.count("plant/before") == 1)

        mosquitto.stop()
        await wait_until(pilot, lambda: "reconnecting" in header(app) or "error" in header(app))
        await wait_until(pilot, lambda: "connection refused" in header(app))
        assert "retry in" in header(app) or "reconnecting in" in header(app)

        # publish from the dialog during the outage, QoS 1
        await pilot.press("p")
        await pilot.press(*"plant/during")
        await pilot.press("tab")
        await pilot.press(*"kept while away")
        await pilot.press("tab", "right", "enter")  # QoS 1
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: any("will be sent on reconnect" in str(n.message) for n in app._notifications),
        )

        mosquitto.start()  # same port
        sub = Client(mosquitto.port, subscribe="plant/#")
        try:
            await wait_until(pilot, lambda: app.hub.mqtt.connected, timeout=40)
            assert "● connected" in header(app)
            assert sub.wait_for("plant/during") == b"kept while away"
            await wait_until(
                pilot, lambda: any("delivered" in str(n.message) for n in app._notifications)
            )
            # resubscribed: traffic flows again
            client_factory(mosquitto.port).publish("plant/after", "2")
            await wait_until(pilot, lambda: app.hub.store.count("plant/after") == 1)
        finally:
            sub.close()


def _service(port: int, **broker) -> tuple[MqttService, list[object]]:
    events: list[object] = []
    cfg = config_for(port, **broker).broker
    return MqttService(cfg, MessageStore(), on_event=events.append), events


def test_password_broker_connects_with_the_right_credentials(mosquitto_password):
    svc, _ = _service(mosquitto_password.port, username="pi", password="s3cret-Pa55")
    svc.start()
    try:
        wait_for(lambda: svc.connected)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        pub.username_pw_set("pi", "s3cret-Pa55")
        pub.connect("127.0.0.1", mosquitto_password.port)
        pub.loop_start()
        pub.publish("secure/x", "ok", qos=1).wait_for_publish(5)
        wait_for(lambda: svc.store.count("secure/x") == 1)
        pub.disconnect()
        pub.loop_stop()
    finally:
        svc.stop()


def test_wrong_password_says_so_and_keeps_retrying(mosquitto_password):
    svc, events = _service(mosquitto_password.port, username="pi", password="wrong")
    svc.start()
    try:
        states = lambda: [e.state for e in events if isinstance(e, ConnectionChanged)]  # noqa: E731
        wait_for(lambda: any("bad user name or password" in s.reason for s in states()))
        wait_for(lambda: sum(s.status == "error" and s.retry_at is not None for s in states()) >= 2)
        assert svc._client is not None and svc._client._thread.is_alive()  # no crash
        assert not svc.connected
        assert all("wrong" not in s.reason for s in states())  # the secret is never shown
    finally:
        svc.stop()


async def test_wrong_password_in_the_header(mosquitto_password):
    cfg = config_for(mosquitto_password.port, username="pi", password="wrong-secret")
    app = PicentralApp(Hub(cfg))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: "bad user name or password" in header(app))
        assert "wrong-secret" not in screen_text(app)


def test_tls_broker_with_ca_and_client_certificate(mosquitto_tls, tls_files):
    svc, events = _service(
        mosquitto_tls.port,
        tls=True,
        ca_file=str(tls_files["ca"]),
        cert_file=str(tls_files["client_cert"]),
        key_file=str(tls_files["client_key"]),
    )
    svc.start()
    try:
        wait_for(lambda: svc.connected)
        result = svc.publish("tls/hello", "secure", qos=1)
        assert result.outcome == "sent"
        wait_for(
            lambda: any(isinstance(e, PublishResult) and e.outcome == "delivered" for e in events)
        )
        wait_for(lambda: svc.store.count("tls/hello") == 1)
    finally:
        svc.stop()


def test_tls_without_the_ca_explains_the_certificate_error(mosquitto_tls, tls_files):
    svc, events = _service(
        mosquitto_tls.port,
        tls=True,
        cert_file=str(tls_files["client_cert"]),
        key_file=str(tls_files["client_key"]),
    )
    svc.start()
    try:
        wait_for(
            lambda: any(
                isinstance(e, ConnectionChanged) and "certificate not trusted" in e.state.reason
                for e in events
            )
        )
    finally:
        svc.stop()


def test_mqtt5_properties_reach_the_store(mosquitto):
    svc, _ = _service(mosquitto.port)
    svc.start()
    try:
        wait_for(lambda: svc.connected)
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.UserProperty = ("sensor", "bme280")
        pub.publish("v5/x", b"{}", qos=1, properties=props).wait_for_publish(5)
        wait_for(lambda: svc.store.count("v5/x") == 1)
        got = svc.store.last("v5/x").properties.json()
        assert got["ContentType"] == "application/json"
        assert ["sensor", "bme280"] in [list(p) for p in got["UserProperty"]]
        pub.disconnect()
        pub.loop_stop()
    finally:
        svc.stop()


def test_qos0_while_disconnected_is_refused_with_a_reason(tmp_path):
    from .brokers import free_port

    svc, _ = _service(free_port())  # nothing listens there
    svc.start()
    try:
        r = svc.publish("x/y", "lost", qos=0)
        assert r.outcome == "failed" and "QoS 0 is not kept" in r.detail
        r = svc.publish("x/y", "kept", qos=1)
        assert r.outcome == "queued"
    finally:
        svc.stop()


def test_websockets_transport(mosquitto_ws):
    svc, _ = _service(mosquitto_ws.ws_port, transport="websockets", ws_path="/mqtt")
    svc.start()
    try:
        wait_for(lambda: svc.connected)
        Client(mosquitto_ws.port).publish("ws/hello", "over websockets")
        wait_for(lambda: svc.store.count("ws/hello") == 1)
        assert svc.store.last("ws/hello").payload == b"over websockets"
    finally:
        svc.stop()


async def test_mqtt5_properties_in_the_payload_pane(mosquitto):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    app = PicentralApp(Hub(config_for(mosquitto.port)))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.hub.mqtt.connected)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.UserProperty = ("sensor", "[b]bme280[/b]")
        pub.publish("v5/pane", b'{"t": 1}', qos=1, properties=props).wait_for_publish(5)
        pub.disconnect()
        pub.loop_stop()
        await wait_until(pilot, lambda: app.hub.store.count("v5/pane") == 1)
        await pilot.pause(0.2)
        app.traffic.show_topic("v5/pane")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "ContentType: application/json" in text
        assert "[b]bme280[/b]" in text  # shown literally
