"""Settings: defaults, then VIDEOGEN_SANDBOX_* environment variables, then CLI flags."""

from __future__ import annotations

import pytest

from studio.sandbox.config import SandboxConfig, config_from_cli


def test_defaults():
    assert config_from_cli([], environ={}) == SandboxConfig(
        host="127.0.0.1",
        port=8100,
        api_key="sandbox",
        pending_seconds=0.5,
        running_seconds=2.0,
        production_addon=False,
        url_ttl_seconds=300.0,
    )


def test_environment_fills_every_setting():
    environ = {
        "VIDEOGEN_SANDBOX_HOST": "0.0.0.0",
        "VIDEOGEN_SANDBOX_PORT": "9000",
        "VIDEOGEN_SANDBOX_KEY": "k1",
        "VIDEOGEN_SANDBOX_PENDING_SECONDS": "0",
        "VIDEOGEN_SANDBOX_RUNNING_SECONDS": "1.5",
        "VIDEOGEN_SANDBOX_PRODUCTION_ADDON": "1",
        "VIDEOGEN_SANDBOX_URL_TTL_SECONDS": "2",
    }

    assert config_from_cli([], environ=environ) == SandboxConfig(
        host="0.0.0.0",
        port=9000,
        api_key="k1",
        pending_seconds=0.0,
        running_seconds=1.5,
        production_addon=True,
        url_ttl_seconds=2.0,
    )


def test_flags_win_over_the_environment():
    environ = {
        "VIDEOGEN_SANDBOX_PORT": "9000",
        "VIDEOGEN_SANDBOX_KEY": "from-env",
        "VIDEOGEN_SANDBOX_PRODUCTION_ADDON": "true",
    }

    config = config_from_cli(
        ["--port", "9001", "--api-key", "from-flag", "--no-production-addon"], environ=environ
    )

    assert (config.port, config.api_key, config.production_addon) == (9001, "from-flag", False)


def test_api_key_env_follows_the_flag_name_too():
    assert config_from_cli([], environ={"VIDEOGEN_SANDBOX_API_KEY": "k2"}).api_key == "k2"
    both = {"VIDEOGEN_SANDBOX_API_KEY": "k2", "VIDEOGEN_SANDBOX_KEY": "k3"}
    assert config_from_cli([], environ=both).api_key == "k3"


@pytest.mark.parametrize(
    ("argv", "environ"),
    [
        ([], {"VIDEOGEN_SANDBOX_PORT": "eighty"}),
        ([], {"VIDEOGEN_SANDBOX_PRODUCTION_ADDON": "perhaps"}),
        (["--pending-seconds", "-1"], {}),
        (["--port", "70000"], {}),
        (["--api-key", ""], {}),
    ],
)
def test_bad_settings_stop_with_a_usage_error(argv, environ, capsys):
    with pytest.raises(SystemExit) as exited:
        config_from_cli(argv, environ=environ)

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err
