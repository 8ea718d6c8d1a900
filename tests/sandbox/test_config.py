"""Settings: defaults, then VIDEOGEN_SANDBOX_* environment variables, then CLI flags."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
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


def test_fault_flags_make_the_starting_faults():
    config = config_from_cli(
        [
            "--latency-ms",
            "tools=200,storage=50",
            "--server-error-share",
            "0.25",
            "--server-error-statuses",
            "502,504",
            "--execution-failure-share",
            "0.1",
            "--webhook-duplicate-share",
            "1",
            "--production-addon",
        ],
        environ={},
    )

    faults = config.initial_faults()
    assert faults.latency_ms["tools"] == 200
    assert faults.latency_ms["storage"] == 50
    assert {group: ms for group, ms in faults.latency_ms.items() if ms} == {
        "tools": 200,
        "storage": 50,
    }
    assert set(faults.server_error_share.values()) == {0.25}
    assert faults.server_error_statuses == (502, 504)
    assert faults.execution_failure_share == 0.1
    assert faults.webhook_duplicate_share == 1.0
    assert faults.production_addon is True
    assert faults.execution_failure_code == "generation_failed"


def test_fault_settings_come_from_the_environment_too():
    environ = {
        "VIDEOGEN_SANDBOX_LATENCY_MS": "files=30",
        "VIDEOGEN_SANDBOX_TRUNCATED_DOWNLOAD_SHARE": "0.5",
        "VIDEOGEN_SANDBOX_SEED": "99",
        "VIDEOGEN_SANDBOX_ADMIN_TOKEN": "secret",
        "VIDEOGEN_SANDBOX_RATE_LIMIT_PROFILE": "strict",
    }

    config = config_from_cli([], environ=environ)

    assert (config.seed, config.admin_token) == (99, "secret")
    assert config.initial_faults().latency_ms["files"] == 30
    assert config.initial_faults().truncated_download_share == 0.5
    assert config.initial_faults().rate_limits["tools"] == (5, 10.0)


REFERENCE_TABLE = {
    "tools": (500, 3600.0),
    "executions": (5_000, 3600.0),
    "cancel": (250, 3600.0),
    "files": (50_000, 3600.0),
    "hydrate": (2_500, 3600.0),
    "uploads": (500, 3600.0),
    "search": (500, 3600.0),
    "resources": (2_500, 3600.0),
    "webhooks_list": (500, 3600.0),
    "webhooks_create": (10, 3600.0),
    "webhooks_delete": (10, 3600.0),
}


def test_the_default_limits_are_the_documented_hourly_table():
    assert config_from_cli([], environ={}).initial_faults().rate_limits == REFERENCE_TABLE


@pytest.mark.parametrize("flag", ["--profile", "--rate-limit-profile"])
def test_rate_limit_profiles_and_overrides(flag):
    strict = config_from_cli([flag, "strict"], environ={}).initial_faults()
    assert strict.rate_limits["tools"] == (5, 10.0)
    assert strict.rate_limits["webhooks_create"] == (5, 10.0)
    assert strict.rate_limits["files"] == (30, 10.0)

    tuned = config_from_cli(
        [flag, "strict", "--rate-limits", "tools=2/3,executions=100/30"], environ={}
    ).initial_faults()
    assert tuned.rate_limits["tools"] == (2, 3.0)
    assert tuned.rate_limits["executions"] == (100, 30.0)
    assert tuned.rate_limits["files"] == (30, 10.0)  # the profile's


def test_rate_limits_come_from_the_environment_in_studios_syntax():
    environ = {"VIDEOGEN_SANDBOX_RATE_LIMITS": "tools=10/30,executions=100/30"}

    limits = config_from_cli([], environ=environ).initial_faults().rate_limits

    assert limits == {**REFERENCE_TABLE, "tools": (10, 30.0), "executions": (100, 30.0)}
    # The flag wins over the environment.
    flagged = config_from_cli(["--rate-limits", "tools=3/1"], environ=environ).initial_faults()
    assert flagged.rate_limits["tools"] == (3, 1.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["--latency-ms", "tools=fast"],
        ["--latency-ms", "nowhere=5"],
        ["--server-error-share", "2"],
        ["--server-error-statuses", "404"],
        ["--rate-limited-share", "storage=0.5"],
        ["--profile", "lenient"],
        ["--rate-limits", "tools=0/60"],
        ["--rate-limits", "tools=5"],
        ["--rate-limits", "tools=5/0"],
        ["--rate-limits", "webhooks=5/60"],
        ["--webhook-max-attempts", "0"],
        ["--truncated-download-fraction", "1"],
    ],
)
def test_bad_fault_settings_stop_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        config_from_cli(argv, environ={})

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_help_lists_the_new_settings(capsys):
    with pytest.raises(SystemExit):
        config_from_cli(["--help"], environ={})

    text = capsys.readouterr().out
    for flag in (
        "--profile",
        "--admin-token",
        "--seed",
        "--webhook-retry-base-seconds",
        "--execution-failure-share",
        "--truncated-download-share",
        "--webhook-drop-share",
        "--webhook-reorder-share",
        "--webhook-stale-failure-share",
        "--rate-limits",
        "group=N/seconds",
        "--manual-clock",
        "--allow-default-key-on-network",
        "/_admin/faults",
    ):
        assert flag in text


def test_the_default_key_is_refused_beyond_loopback():
    exposed = config_from_cli(["--host", "0.0.0.0"], environ={})
    problem = exposed.network_exposure_problem()
    assert problem is not None
    assert "default API key" in problem and "--allow-default-key-on-network" in problem

    for argv in (
        ["--host", "127.0.0.1"],
        ["--host", "localhost"],
        ["--host", "::1"],
        ["--host", "0.0.0.0", "--api-key", "a-secret-of-ours"],
        ["--host", "0.0.0.0", "--allow-default-key-on-network"],
    ):
        assert config_from_cli(argv, environ={}).network_exposure_problem() is None, argv
    environ = {"VIDEOGEN_SANDBOX_HOST": "0.0.0.0", "VIDEOGEN_SANDBOX_KEY": "another-secret"}
    assert config_from_cli([], environ=environ).network_exposure_problem() is None


def test_the_process_refuses_to_listen_beyond_loopback_with_the_default_key():
    refused = subprocess.run(
        [sys.executable, "-m", "studio.sandbox", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "VIDEOGEN_SANDBOX_KEY": "sandbox"},
    )

    assert refused.returncode != 0
    assert "refusing to listen on '0.0.0.0' with the default API key" in refused.stderr
    assert "--allow-default-key-on-network" in refused.stderr


def test_told_explicitly_it_listens_beyond_loopback_with_the_default_key(sandbox_factory):
    box = sandbox_factory("--host", "0.0.0.0", "--allow-default-key-on-network")

    assert httpx.get(f"{box.base_url}/_health").json()["status"] == "ok"
