"""The embedded MQTT broker (amqtt), for a first run with no Mosquitto installed.

amqtt's Broker must be built inside a running event loop, so it gets its own thread
and loop. It listens on loopback only and speaks MQTT 3.1.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from concurrent.futures import Future

log = logging.getLogger(__name__)


def port_is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedBrokerError(RuntimeError):
    pass


class EmbeddedBroker:
    """amqtt on `host:port` (loopback), anonymous clients allowed, `$SYS` every 10 s."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, sys_interval: int = 10):
        self.host = host
        self.port = port
        self.sys_interval = sys_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker = None
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _config(self) -> dict:
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self.port}"},
            },
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
                "amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": self.sys_interval},
            },
        }

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the broker accepts connections; raise with why if not."""
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="picentral-embedded-broker", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout)
        except TimeoutError:
            raise EmbeddedBrokerError(f"embedded broker did not start on {self.address}") from None

    def _run(self, ready: Future[None]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(ready))
        finally:
            loop.close()
            self._stopped.set()

    async def _serve(self, ready: Future[None]) -> None:
        from amqtt.broker import Broker  # lazy: only a first run without Mosquitto pays it

        self._stop_event = asyncio.Event()
        try:
            self._broker = Broker(self._config())
            await self._broker.start()
        except Exception as e:  # port taken, bad bind address: say which
            ready.set_exception(EmbeddedBrokerError(f"embedded broker on {self.address}: {e}"))
            return
        ready.set_result(None)
        await self._stop_event.wait()
        with contextlib.suppress(Exception):
            await self._broker.shutdown()

    def stop(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join(timeout)
