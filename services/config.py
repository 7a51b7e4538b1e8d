"""Configuration: lookup, TOML parsing and validation.

The pydantic models are the single source of truth for keys and defaults; the repo's
`config.toml` documents them (a test keeps the two identical).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_config_path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .topics import topic_filter_problem, topic_problem


def _int_is_float(v: object) -> object:
    # strict mode refuses 10 for a float; TOML users write 10, not 10.0
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _valid_filters(v: list[str]) -> list[str]:
    for f in v:
        problem = topic_filter_problem(f)
        if problem:
            raise ValueError(f"{f!r}: {problem}")
    return v


Port = Annotated[int, Field(ge=1, le=65535)]
Number = Annotated[float, BeforeValidator(_int_is_float)]
TopicFilters = Annotated[list[str], AfterValidator(_valid_filters)]


class ConfigError(Exception):
    """A config that cannot be used; `str()` is the one line shown to the user."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BrokerConfig(_Section):
    host: str = "127.0.0.1"
    port: Port = 1883
    protocol: Literal["5", "3.1.1"] = "5"
    transport: Literal["tcp", "websockets"] = "tcp"
    ws_path: str = "/mqtt"
    keepalive: Annotated[int, Field(ge=5, le=65535)] = 30
    username: str = ""
    password: SecretStr = SecretStr("")
    client_id: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    tls_insecure: bool = False
    embedded: Literal["auto", "always", "never"] = "auto"
    subscriptions: TopicFilters = Field(default_factory=lambda: ["#", "$SYS/#"])

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a host name or address, not empty")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BrokerConfig:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("cert_file and key_file go together")
        if self.embedded == "always" and not self.is_loopback:
            raise ValueError(
                "the embedded broker listens on loopback only: with embedded = "
                '"always", host must be 127.0.0.1 or localhost'
            )
        return self

    @property
    def address(self) -> str:
        scheme = {"tcp": "mqtt", "websockets": "ws"}[self.transport] + ("s" if self.tls else "")
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def resolved_client_id(self) -> str:
        return self.client_id or f"picentral-{socket.gethostname()}-{os.getpid()}"


class HubConfig(_Section):
    base_topic: str = "picentral"

    @field_validator("base_topic")
    @classmethod
    def _plain_topic(cls, v: str) -> str:
        problem = topic_problem(v)
        if problem:
            raise ValueError(problem)
        return v.rstrip("/")


class UiConfig(_Section):
    refresh_hz: Annotated[Number, Field(gt=0, le=60)] = 10
    history_per_topic: Annotated[int, Field(ge=1, le=100_000)] = 100
    max_payload_preview: Annotated[int, Field(ge=64, le=16 * 1024 * 1024)] = 65536
    log_lines: Annotated[int, Field(ge=10, le=100_000)] = 1000
    images: Literal["auto", "halfblock", "graphics"] = "auto"


CONVENTION_NAMES = ("generic", "tasmota", "esphome", "homie", "homeassistant")


class DevicesConfig(_Section):
    conventions: list[Literal["generic", "tasmota", "esphome", "homie", "homeassistant"]] = Field(
        default_factory=lambda: list(CONVENTION_NAMES)
    )
    generic_status_topics: list[str] = Field(default_factory=lambda: ["devices/+/status"])
    stale_after_s: Annotated[Number, Field(gt=0)] = 120

    @field_validator("generic_status_topics")
    @classmethod
    def _one_plus_for_the_id(cls, v: list[str]) -> list[str]:
        for pattern in v:
            problem = topic_filter_problem(pattern)
            if problem is None and (pattern.split("/").count("+") != 1 or "#" in pattern):
                problem = "needs exactly one + level, where the device id is, and no #"
            if problem:
                raise ValueError(f"{pattern!r}: {problem}")
        return v


class CameraConfig(_Section):
    backend: Literal["auto", "picamera2", "rpicam", "testpattern", "none"] = "auto"
    width: Annotated[int, Field(ge=16, le=9152)] = 1920
    height: Annotated[int, Field(ge=16, le=6944)] = 1080
    jpeg_quality: Annotated[int, Field(ge=1, le=100)] = 85
    preview_fps: Annotated[Number, Field(gt=0, le=30)] = 2
    capture_dir: str = "~/picentral/captures"
    keep_last: Annotated[int, Field(ge=1)] = 1000
    interval_s: Annotated[Number, Field(ge=0)] = 0
    image_topics: TopicFilters = Field(default_factory=lambda: ["+/camera/image", "esp32/+/image"])

    @property
    def folder(self) -> Path:
        return Path(self.capture_dir).expanduser()


class PublishPreset(_Section):
    name: str
    topic: str
    payload: str = ""
    qos: Annotated[int, Field(ge=0, le=2)] = 0
    retain: bool = False

    @field_validator("topic")
    @classmethod
    def _publishable(cls, v: str) -> str:
        problem = topic_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class PublishConfig(_Section):
    preset: list[PublishPreset] = Field(
        default_factory=lambda: [
            PublishPreset(name="led on", topic="devices/esp32-1/cmd", payload='{"led":1}'),
            PublishPreset(name="led off", topic="devices/esp32-1/cmd", payload='{"led":0}'),
        ]
    )


def _host_port(v: str) -> str:
    host, sep, port = v.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("host:port, e.g. 127.0.0.1:1883")
    return v


class ServiceCheck(_Section):
    """One row of the Services screen: whatever of systemd unit, TCP port and HTTP URL is
    set is probed; the row is up when all of them are."""

    name: str
    systemd: str = ""
    tcp: Annotated[str, AfterValidator(lambda v: v and _host_port(v))] = ""
    http: str = ""

    @field_validator("http")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _something_to_probe(self) -> ServiceCheck:
        if not (self.systemd or self.tcp or self.http):
            raise ValueError(f"check {self.name!r} needs systemd, tcp or http")
        return self


class ServicesConfig(_Section):
    interval_s: Annotated[Number, Field(ge=1)] = 10
    timeout_s: Annotated[Number, Field(gt=0, le=60)] = 3
    check: list[ServiceCheck] = Field(
        default_factory=lambda: [
            ServiceCheck(name="mosquitto", systemd="mosquitto", tcp="127.0.0.1:1883"),
            ServiceCheck(name="node-red", systemd="nodered", http="http://127.0.0.1:1880/"),
        ]
    )


def _basic_auth(v: list[SecretStr]) -> list[SecretStr]:
    for item in v:
        user, sep, password = item.get_secret_value().partition(":")
        if not sep or not user or not 8 <= len(password) <= 128:
            raise ValueError('"user:password", the password 8 to 128 characters (ngrok\'s rule)')
    return v


class TunnelEndpoint(_Section):
    name: str
    proto: Literal["http", "tcp"] = "http"
    addr: Port | Annotated[str, AfterValidator(_host_port)] = 1880
    basic_auth: Annotated[list[SecretStr], AfterValidator(_basic_auth)] = Field(
        default_factory=list
    )
    autostart: bool = False  # started by `picentral serve`

    @property
    def port(self) -> int:
        return self.addr if isinstance(self.addr, int) else int(self.addr.rpartition(":")[2])

    @model_validator(mode="after")
    def _auth_is_http(self) -> TunnelEndpoint:
        if self.basic_auth and self.proto != "http":
            raise ValueError("basic_auth is for http endpoints only")
        return self


class TunnelsConfig(_Section):
    ngrok_path: str = ""  # "" = where pyngrok installs it
    authtoken: SecretStr = SecretStr("")
    region: str = ""
    endpoint: list[TunnelEndpoint] = Field(
        default_factory=lambda: [
            TunnelEndpoint(name="node-red", proto="http", addr=1880),
            TunnelEndpoint(name="mqtt", proto="tcp", addr=1883),
        ]
    )

    @model_validator(mode="after")
    def _unique_names(self) -> TunnelsConfig:
        names = [e.name for e in self.endpoint]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        return self


class ControlConfig(_Section):
    allow_tunnel_commands: bool = False


class Config(_Section):
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    hub: HubConfig = Field(default_factory=HubConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    devices: DevicesConfig = Field(default_factory=DevicesConfig)
    camera: CameraConfig = Field(default_factory=CameraConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    services: ServicesConfig = Field(default_factory=ServicesConfig)
    tunnels: TunnelsConfig = Field(default_factory=TunnelsConfig)
    control: ControlConfig = Field(default_factory=ControlConfig)
    source: str = Field(default="built-in defaults", exclude=True)


# --- loading ----------------------------------------------------------------------------


def default_config_path() -> Path:
    return user_config_path("picentral", appauthor=False, roaming=False) / "config.toml"


def find_config(explicit: str | None) -> Path | None:
    """--config, then $PICENTRAL_CONFIG, then $XDG_CONFIG_HOME/picentral/config.toml."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("PICENTRAL_CONFIG")
    if env:
        return Path(env).expanduser()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidate = xdg / "picentral" / "config.toml"
    return candidate if candidate.is_file() else None


def load_config(explicit: str | None = None, env: dict[str, str] | None = None) -> Config:
    """Find, parse and validate the config. Raises ConfigError with a one-line message."""
    env = os.environ if env is None else env
    path = find_config(explicit)
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path} cannot be read: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    for variable, section, key in (
        ("PICENTRAL_BROKER_PASSWORD", "broker", "password"),
        ("NGROK_AUTHTOKEN", "tunnels", "authtoken"),
    ):
        secret = env.get(variable)
        if secret:
            data.setdefault(section, {})
            if isinstance(data[section], dict):
                data[section][key] = secret
    return parse_config(data, source=str(path) if path else "built-in defaults")


def parse_config(data: dict, source: str = "built-in defaults") -> Config:
    try:
        return Config.model_validate({**data, "source": source})
    except ValidationError as e:
        raise ConfigError(f"{source}: {_first_error(e)}") from None


def _first_error(e: ValidationError) -> str:
    err = e.errors(include_url=False)[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required key is missing"
    got = err.get("input")
    secret = any(word in key for word in ("password", "authtoken", "basic_auth"))
    shown = "<hidden>" if secret else repr(got)
    msg = err["msg"].removeprefix("Value error, ")
    return f"{key}: {msg[0].lower()}{msg[1:]} (got {shown})"
