"""Configuration: lookup order, defaults, and bad configs (exit 2, one line, no traceback)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services.config import Config, ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )


def test_repo_config_toml_is_exactly_the_builtin_defaults():
    documented = parse_config(tomllib.loads((REPO / "config.toml").read_text()))
    assert documented == Config()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[broker]\nport = "1883"\n', "broker.port: input should be a valid integer"),
        ("[broker]\nport = 70000\n", "broker.port: input should be less than or equal to 65535"),
        ("[broker]\nport = 0\n", "broker.port: input should be greater than or equal to 1"),
        ('[broker]\ncolour = "red"\n', "broker.colour: unknown key"),
        ('[brokr]\nhost = "x"\n', "brokr: unknown key"),
        ('[broker]\nprotocol = "4"\n', "broker.protocol: input should be '5' or '3.1.1'"),
        ('[broker]\ntls = "yes"\n', "broker.tls: input should be a valid boolean"),
        ('[broker]\nsubscriptions = ["a/#/b"]\n', "# must be a whole level"),
        ("[ui]\nrefresh_hz = 0\n", "ui.refresh_hz: input should be greater than 0"),
        ('[broker]\ncert_file = "c.pem"\n', "cert_file and key_file go together"),
        ('[[publish.preset]]\nname = "x"\ntopic = "a/+"\n', "publish.preset.0.topic"),
        ("[broker\nhost=1", "not valid TOML"),
        ('[broker]\nhost = "10.0.0.2"\nembedded = "always"\n', "loopback only"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path, toml, expected):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    result = run_cli("--config", str(path), "serve")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_config_file_exits_2(tmp_path):
    result = run_cli("--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"picentral: config error: config file {tmp_path / 'nope.toml'} does not exist"
    )


def test_wrong_password_type_never_echoes_the_value(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[broker]\npassword = ["hunter2-secret"]\n')
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert "hunter2-secret" not in str(e.value)
    assert "broker.password" in str(e.value)


def test_lookup_order(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[broker]\nport = 1001\n")
    from_env = tmp_path / "env.toml"
    from_env.write_text("[broker]\nport = 1002\n")
    xdg = tmp_path / "xdg"
    (xdg / "picentral").mkdir(parents=True)
    (xdg / "picentral" / "config.toml").write_text("[broker]\nport = 1003\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))

    assert load_config(None).broker.port == 1003
    monkeypatch.setenv("PICENTRAL_CONFIG", str(from_env))
    assert load_config(None).broker.port == 1002
    assert load_config(str(explicit)).broker.port == 1001
    monkeypatch.delenv("PICENTRAL_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    cfg = load_config(None)
    assert cfg == Config() and cfg.source == "built-in defaults"


def test_password_from_the_environment_is_secret(tmp_path):
    cfg = load_config(None, env={"PICENTRAL_BROKER_PASSWORD": "pw-from-env"})
    assert cfg.broker.password.get_secret_value() == "pw-from-env"
    assert "pw-from-env" not in repr(cfg) and "pw-from-env" not in str(cfg.model_dump())


def test_services_never_import_textual():
    code = (
        "import sys, pkgutil, importlib, services\n"
        "for m in pkgutil.iter_modules(services.__path__):\n"
        "    importlib.import_module('services.' + m.name)\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
