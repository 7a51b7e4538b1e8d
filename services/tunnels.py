"""ngrok tunnels through pyngrok 9 (ngrok Endpoints): start, stop, watch, explain.

pyngrok blocks (it starts the agent and reads its log until the session is up; it may
download the agent): every call runs on this service's worker thread, one at a time. A
monitor thread notices when the agent process dies.

The authtoken is a secret: it goes to the agent in a private config file (mode 0600,
not on the command line where `ps` shows it), and every text from ngrok is redacted
before it is shown or logged — ngrok's own error for a malformed token quotes it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .config import BrokerConfig, TunnelEndpoint, TunnelsConfig

log = logging.getLogger(__name__)
# pyngrok logs request bodies (basic_auth passwords) at DEBUG and ngrok's lines (which may
# quote the authtoken) at INFO: we report what matters ourselves, redacted.
logging.getLogger("pyngrok").setLevel(logging.WARNING)
logging.getLogger("pyngrok.process.ngrok").setLevel(logging.CRITICAL)

TunnelStatus = Literal["stopped", "starting", "online", "error"]
AUTHTOKEN_URL = "https://dashboard.ngrok.com/get-started/your-authtoken"


@dataclass(frozen=True, slots=True)
class TunnelState:
    name: str
    proto: str
    addr: str  # local address it forwards to
    state: TunnelStatus = "stopped"
    public_url: str = ""
    error: str = ""
    warning: str = ""  # e.g. no basic auth in front of Node-RED

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "proto": self.proto,
            "state": self.state,
            "public_url": self.public_url,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class TunnelChanged:
    tunnel: TunnelState


@dataclass(frozen=True, slots=True)
class StartAnswer:
    """What `start()` did: "starting", "confirm" (say `question` and call again with
    confirmed=True), or "refused" (with the reason)."""

    outcome: Literal["starting", "confirm", "refused"]
    text: str = ""


def explain_ngrok_error(text: str, secret: str = "") -> str:
    """ngrok's error as one line a person can act on; the authtoken never in it."""
    text = redact(text, secret)
    if "ERR_NGROK_4018" in text:
        return (
            "ngrok needs an authtoken (ERR_NGROK_4018) — set tunnels.authtoken or "
            f"NGROK_AUTHTOKEN; yours is at {AUTHTOKEN_URL}"
        )
    if "ERR_NGROK_105" in text or "ERR_NGROK_107" in text:
        code = "105" if "ERR_NGROK_105" in text else "107"
        return (
            f"ngrok refused the authtoken (ERR_NGROK_{code}) — copy it again from "
            f"{AUTHTOKEN_URL} into tunnels.authtoken or NGROK_AUTHTOKEN"
        )
    if "ERR_NGROK_108" in text:
        return (
            "another ngrok agent already runs on this account (ERR_NGROK_108; the free "
            "plan allows one) — stop it, or see https://dashboard.ngrok.com/agents"
        )
    if "ERR_NGROK_8013" in text:
        return (
            "TCP endpoints on ngrok's free plan need a card on file, which is not charged "
            "(ERR_NGROK_8013) — add one at https://dashboard.ngrok.com/settings#id-verification"
        )
    first = next((line.strip() for line in text.splitlines() if line.strip()), "unknown error")
    return f"ngrok: {first[:200]}"


def redact(text: str, secret: str) -> str:
    return text.replace(secret, "<authtoken hidden>") if secret else text


def _error_text(error: BaseException) -> str:
    """The most telling text of a pyngrok exception: the agent's `err=` from its log, or
    `details.err` of its API's JSON answer. Its escapes (\\n) become line breaks."""
    text = str(getattr(error, "ngrok_error", None) or "")
    body = getattr(error, "body", None)
    if not text and body:
        try:
            answer = json.loads(body)
            text = str((answer.get("details") or {}).get("err") or answer.get("msg") or body)
        except (ValueError, AttributeError):
            text = str(body)
    text = text or str(error)
    return text.replace("\\r", "").replace("\\n", "\n")


class TunnelService:
    def __init__(
        self,
        cfg: TunnelsConfig,
        *,
        broker: BrokerConfig,
        state_dir: Path,
        anonymous_broker: Callable[[], bool],
        publish: Callable[[str, bytes], bool] | None = None,
        topic: str = "picentral/tunnels",
        on_event: Callable[[object], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.broker = broker
        self.state_dir = state_dir
        self._anonymous_broker = anonymous_broker
        self._publish = publish or (lambda _t, _p: False)
        self._topic = topic
        self._emit = on_event or (lambda _e: None)
        self._endpoints = {e.name: e for e in cfg.endpoint}
        self._states = {e.name: self._initial(e) for e in cfg.endpoint}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ngrok")
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._pyngrok_config: Any = None
        self._agent: Any = None  # pyngrok's NgrokProcess of our tunnels
        self.installing = False

    @staticmethod
    def _initial(e: TunnelEndpoint) -> TunnelState:
        warning = ""
        if e.proto == "http" and not e.basic_auth:
            warning = "no basic_auth: anyone with the URL reaches it"
        return TunnelState(e.name, e.proto, str(e.addr), warning=warning)

    # --- state -------------------------------------------------------------------------

    def states(self) -> list[TunnelState]:
        with self._lock:
            return list(self._states.values())

    def state(self, name: str) -> TunnelState | None:
        with self._lock:
            return self._states.get(name)

    def _set(self, name: str, **changes: Any) -> None:
        with self._lock:
            state = self._states[name] = replace(self._states[name], **changes)
        self._emit(TunnelChanged(state))
        self.publish_states()

    def publish_states(self) -> None:
        payload = json.dumps([s.to_json() for s in self.states()], separators=(",", ":"))
        self._publish(self._topic, payload.encode())

    # --- the agent -----------------------------------------------------------------------

    @property
    def secret(self) -> str:
        return self.cfg.authtoken.get_secret_value()

    @functools.cached_property
    def ngrok_path(self) -> str:
        """Also imports pyngrok: the hub reads it once on its start thread, not the UI's."""
        from pyngrok import conf

        if self.cfg.ngrok_path:
            return str(Path(self.cfg.ngrok_path).expanduser())
        return conf.DEFAULT_NGROK_PATH

    def agent_missing(self) -> str | None:
        """Why the agent cannot run, or None."""
        path = self.ngrok_path
        if not os.path.isfile(path):
            return f"no ngrok agent at {path}"
        if not os.access(path, os.X_OK):
            return f"{path} is not executable — `chmod +x {path}`"
        return None

    def _config(self) -> Any:
        from pyngrok import conf

        if self._pyngrok_config is None:
            config_path = None
            if self.secret:
                # the token in a private file, not on the agent's command line
                self.state_dir.mkdir(parents=True, exist_ok=True)
                path = self.state_dir / "ngrok.yml"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.fchmod(fd, 0o600)  # also when an older file was readable by others
                with os.fdopen(fd, "w") as f:
                    f.write(f'version: "3"\nagent:\n  authtoken: {json.dumps(self.secret)}\n')
                config_path = str(path)
            self._pyngrok_config = conf.PyngrokConfig(
                ngrok_path=self.ngrok_path,
                config_path=config_path,
                auth_token=None,
                region=self.cfg.region or None,
                monitor_thread=True,
                startup_timeout=15,
                start_new_session=True,  # a Ctrl+C in the terminal is ours to handle
            )
            self._pyngrok_config.auth_token = None  # not NGROK_AUTHTOKEN on the command line
        return self._pyngrok_config

    def _agent_process(self) -> Any:
        from pyngrok import process

        path = self.ngrok_path
        if process.is_process_running(path):
            return process._current_processes.get(path)
        return None

    def install(self) -> None:
        """Download the agent with pyngrok's installer, on the worker thread."""
        if self.installing:
            return
        self.installing = True
        self._worker.submit(self._install)

    def _install(self) -> None:
        from pyngrok import installer

        from .events import Notice

        try:
            Path(self.ngrok_path).parent.mkdir(parents=True, exist_ok=True)
            installer.install_ngrok(self.ngrok_path)
            self._emit(Notice(f"ngrok agent installed at {self.ngrok_path}"))
        except Exception as e:  # network, disk: say it, keep going
            self._emit(
                Notice(
                    f"cannot install ngrok: {redact(str(e), self.secret)[:200]} — download "
                    "it from https://ngrok.com/download and set tunnels.ngrok_path",
                    "error",
                )
            )
        finally:
            self.installing = False

    # --- commands (any thread) -----------------------------------------------------

    def exposes_anonymous_broker(self, endpoint: TunnelEndpoint) -> bool:
        return (
            endpoint.proto == "tcp"
            and endpoint.port == self.broker.port
            and self.broker.is_loopback
            and self._anonymous_broker()
        )

    def start(self, name: str, *, confirmed: bool = False) -> StartAnswer:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            return StartAnswer("refused", f"no endpoint named {name!r} in [[tunnels.endpoint]]")
        current = self.state(name)
        if current is not None and current.state in ("starting", "online"):
            return StartAnswer("refused", f"{name} is already {current.state}")
        missing = self.agent_missing()
        if missing:
            return StartAnswer("refused", f"{missing} — press i to install it")
        if not confirmed and self.exposes_anonymous_broker(endpoint):
            return StartAnswer(
                "confirm",
                f"The broker on port {endpoint.port} lets anyone connect without a password. "
                "Through this tunnel anyone on the Internet who finds its address can read "
                "every topic and publish commands to your devices.",
            )
        self._set(name, state="starting", error="", public_url="")
        self._worker.submit(self._start, endpoint)
        self._ensure_monitor()
        return StartAnswer("starting")

    def stop(self, name: str) -> None:
        if name in self._endpoints:
            self._worker.submit(self._disconnect, name)

    def stop_all(self, timeout: float = 5.0) -> None:
        """Close every tunnel and the agent (picentral exits)."""
        self._stop.set()
        future = self._worker.submit(self._kill)
        try:
            future.result(timeout)
        except Exception:
            log.exception("stopping ngrok")
        # queued starts are dropped; a fresh worker lets a restarted hub start tunnels again
        self._worker.shutdown(wait=False, cancel_futures=True)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ngrok")

    def start_autostart(self) -> None:
        for endpoint in self.cfg.endpoint:
            if endpoint.autostart:
                answer = self.start(endpoint.name)
                if answer.outcome != "starting":
                    self._set(endpoint.name, state="error", error=answer.text)

    def command(self, payload: bytes, allowed: bool) -> str:
        """A message on `picentral/tunnels/set`: {"name": ..., "action": "start"|"stop"}.
        Returns what was done, for the log. Never asks for confirmation: a remote start
        that would need one is refused."""
        if not allowed:
            return "ignored: [control] allow_tunnel_commands = false"
        try:
            request = json.loads(payload)
            name, action = request["name"], request["action"]
        except (ValueError, KeyError, TypeError):
            return 'ignored: expected {"name": ..., "action": "start"|"stop"}'
        if action == "stop":
            self.stop(str(name))
            return f"stopping {name}"
        if action != "start":
            return f"ignored: unknown action {action!r}"
        answer = self.start(str(name))
        if answer.outcome == "confirm":
            if str(name) in self._endpoints:
                self._set(str(name), state="error", error="refused: needs a confirmation on screen")
            return f"refused {name}: it needs a confirmation on screen"
        return f"{answer.outcome} {name}" + (f": {answer.text}" if answer.text else "")

    # --- the worker thread -----------------------------------------------------------------

    def _start(self, endpoint: TunnelEndpoint) -> None:
        from pyngrok import ngrok

        options: dict[str, Any] = {}
        if endpoint.basic_auth:
            options["basic_auth"] = [s.get_secret_value() for s in endpoint.basic_auth]
        try:
            tunnel = ngrok.connect(
                str(endpoint.addr),
                endpoint.proto,
                name=endpoint.name,
                pyngrok_config=self._config(),
                **options,
            )
        except Exception as e:  # pyngrok's errors, the agent's, the network's
            error = explain_ngrok_error(_error_text(e), self.secret)
            log.warning("tunnel %s: %s", endpoint.name, error)
            self._set(endpoint.name, state="error", error=error)
            return
        self._agent = self._agent_process()  # watched from now on
        self._set(endpoint.name, state="online", public_url=tunnel.public_url or "", error="")

    def _disconnect(self, name: str) -> None:
        from pyngrok import ngrok

        state = self.state(name)
        if state is not None and state.public_url and self._agent_process() is not None:
            try:
                ngrok.disconnect(state.public_url, pyngrok_config=self._config())
            except Exception as e:
                error = explain_ngrok_error(_error_text(e), self.secret)
                self._set(name, state="error", error=error)
                return
        self._set(name, state="stopped", public_url="", error="")

    def _kill(self) -> None:
        from pyngrok import ngrok

        self._agent = None
        if self._agent_process() is not None:
            ngrok.kill(self._config())
        for state in self.states():
            if state.state != "stopped":
                self._set(state.name, state="stopped", public_url="", error="")

    # --- the monitor thread ------------------------------------------------------------

    def _ensure_monitor(self) -> None:
        if self._monitor is None or not self._monitor.is_alive():
            self._stop.clear()
            self._monitor = threading.Thread(target=self._watch, name="ngrok-monitor", daemon=True)
            self._monitor.start()

    def _watch(self) -> None:
        """An agent that dies takes its tunnels with it: say so; starting one restarts it."""
        while not self._stop.wait(1.0):
            agent = self._agent
            if agent is None or agent.proc.poll() is None:
                continue
            self._agent = None
            for state in self.states():
                if state.state in ("online", "starting"):
                    self._set(
                        state.name,
                        state="error",
                        public_url="",
                        error=f"the ngrok agent stopped (exit code {agent.proc.returncode}) — "
                        "press enter to start the tunnel again",
                    )
