"""Settings of the sandbox, read from the environment and overridden by CLI flags.

Each flag ``--some-flag`` has an environment twin ``VIDEOGEN_SANDBOX_SOME_FLAG``;
a flag given on the command line wins over the environment, which wins over
the defaults below. The API key is also read from ``VIDEOGEN_SANDBOX_KEY``,
the name the rest of Studio uses.

The settings from ``--pending-seconds`` on down to the webhook faults are only
starting values: they make the first `Faults` (faults.py), which
``/_admin/faults`` then changes at run time under the same names.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from .faults import Faults, parse_group_text, parse_statuses_text
from .ratelimit import PROFILES, format_rate_limits, parse_rate_limits

ENV_PREFIX = "VIDEOGEN_SANDBOX_"
DEFAULT_API_KEY = "sandbox"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
GROUP_NAMES = (*PROFILES["reference"].limits, "storage")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    # 0 asks the OS for a free port (handy in tests); the CLI default is 8100.
    port: int = 8100
    api_key: str = DEFAULT_API_KEY
    # Listening beyond loopback with the well-known default key needs saying so.
    allow_default_key_on_network: bool = False
    # Time stands still until POST /_admin/clock moves it (for tests; see clock.py).
    manual_clock: bool = False
    # How long a new execution stays `pending`, then `running`, before it succeeds.
    pending_seconds: float = Faults.pending_seconds
    running_seconds: float = Faults.running_seconds
    # Without the Production add-on, `watermarkMode: NONE` is refused with a 403.
    production_addon: bool = Faults.production_addon
    # Lifetime of signed upload and download URLs.
    url_ttl_seconds: float = 300.0
    # Base URL of signed URLs in webhook payloads; empty: http://<host>:<port> as bound.
    public_url: str = ""
    # Token for /_admin/*; empty: the API key opens them.
    admin_token: str = ""
    # Seed of the one random.Random behind every injected fault.
    seed: int = 0
    # Padding (a private PNG chunk) added to each generated PNG when downloaded: big files.
    result_padding_bytes: int = 0

    # Rate limits: a profile's table, then per-group overrides "tools=10/30,executions=100/30".
    rate_limit_profile: str = "reference"
    rate_limits: str = ""
    rate_limit_retry_after: bool = Faults.rate_limit_retry_after

    # Webhook delivery.
    webhook_timeout_seconds: float = 15.0
    webhook_retry_base_seconds: float = 0.5
    webhook_max_attempts: int = 5

    # Faults, as starting values; the scalar defaults are Faults' own (faults.py).
    execution_failure_share: float = Faults.execution_failure_share
    execution_failure_code: str = Faults.execution_failure_code
    execution_failure_message: str = Faults.execution_failure_message
    latency_ms: str = ""  # "200" for every group, or "tools=200,storage=50"
    latency_jitter_ms: str = ""
    server_error_share: str = ""
    server_error_statuses: str = "500,502,503"
    server_error_after_handling_share: float = Faults.server_error_after_handling_share
    rate_limited_share: str = ""
    rate_limited_retry_after: int = Faults.rate_limited_retry_after
    download_bytes_per_second: int = Faults.download_bytes_per_second
    truncated_download_share: float = Faults.truncated_download_share
    truncated_download_fraction: float = Faults.truncated_download_fraction
    webhook_drop_share: float = Faults.webhook_drop_share
    webhook_delay_seconds: float = Faults.webhook_delay_seconds
    webhook_duplicate_share: float = Faults.webhook_duplicate_share
    webhook_reorder_share: float = Faults.webhook_reorder_share
    webhook_reorder_seconds: float = Faults.webhook_reorder_seconds
    webhook_stale_failure_share: float = Faults.webhook_stale_failure_share
    analysis_seconds: float = Faults.analysis_seconds

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        for name in ("pending_seconds", "running_seconds", "url_ttl_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.rate_limit_profile not in PROFILES:
            raise ValueError(
                f"rate_limit_profile must be one of {', '.join(PROFILES)}, "
                f"not {self.rate_limit_profile!r}"
            )
        if self.webhook_timeout_seconds <= 0 or self.webhook_retry_base_seconds < 0:
            raise ValueError("webhook timeout must be positive and the retry base not negative")
        if self.result_padding_bytes < 0:
            raise ValueError("result_padding_bytes must not be negative")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        self.initial_faults()  # the fault settings are checked there

    def network_exposure_problem(self) -> str | None:
        """Why this configuration must not start, or None: the default key beyond loopback."""
        loopback = self.host in LOOPBACK_HOSTS or self.host.startswith("127.")
        if loopback or self.api_key != DEFAULT_API_KEY or self.allow_default_key_on_network:
            return None
        return (
            f"refusing to listen on {self.host!r} with the default API key {DEFAULT_API_KEY!r}: "
            "anyone who can reach this address could use it. Set --api-key (or "
            f"{ENV_PREFIX}KEY) to a secret of your own, listen on 127.0.0.1, or pass "
            "--allow-default-key-on-network if that exposure is really intended."
        )

    def initial_faults(self) -> Faults:
        """The faults this configuration starts with; ValueError names a bad setting."""
        profile = PROFILES[self.rate_limit_profile]
        simple = {
            name: getattr(self, name)
            for name in (
                "pending_seconds",
                "running_seconds",
                "production_addon",
                "execution_failure_share",
                "execution_failure_code",
                "execution_failure_message",
                "server_error_after_handling_share",
                "rate_limited_retry_after",
                "download_bytes_per_second",
                "truncated_download_share",
                "truncated_download_fraction",
                "webhook_drop_share",
                "webhook_delay_seconds",
                "webhook_duplicate_share",
                "webhook_reorder_share",
                "webhook_reorder_seconds",
                "webhook_stale_failure_share",
                "analysis_seconds",
                "rate_limit_retry_after",
            )
        }
        grouped = {
            name: parse_group_text(name, getattr(self, name))
            for name in (
                "latency_ms",
                "latency_jitter_ms",
                "server_error_share",
                "rate_limited_share",
            )
        }
        faults = Faults().merge(
            {
                **simple,
                "server_error_statuses": parse_statuses_text(
                    "server_error_statuses", self.server_error_statuses
                ),
                # The profile first, so that rate_limits overrides only the groups it names.
                "rate_limits": format_rate_limits(profile.limits),
            }
        )
        if self.rate_limits.strip():
            try:
                parse_rate_limits(self.rate_limits)
            except ValueError as exc:
                raise ValueError(f"rate_limits: {exc}") from None
            faults = faults.merge({"rate_limits": self.rate_limits})
        return faults.merge({name: value for name, value in grouped.items() if value is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Defaults overridden by whichever ``VIDEOGEN_SANDBOX_*`` variables are set."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = environ.get(ENV_PREFIX + field.name.upper())
            if field.name == "api_key":
                raw = environ.get(ENV_PREFIX + "KEY", raw)
            if raw is not None:
                values[field.name] = _parse(field.name, field.type, raw)
        return cls(**values)


def _parse(name: str, type_name: object, raw: str) -> object:
    # Field types are strings because of `from __future__ import annotations`.
    try:
        if type_name == "bool":
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        return raw
    except ValueError as exc:
        env_name = ENV_PREFIX + name.upper()
        raise ValueError(f"{env_name}={raw!r} is not valid: {exc}") from None


def build_parser(defaults: SandboxConfig) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio.sandbox",
        description="A local, in-memory server that speaks the VideoGen API: image tools, "
        "executions, files, webhooks, with rate limits and injectable faults.",
        epilog=f"Every flag can also be set as {ENV_PREFIX}<FLAG> in the environment "
        f"(--latency-ms is {ENV_PREFIX}LATENCY_MS). The settings from --pending-seconds on are "
        "starting values: GET/POST /_admin/faults shows and changes them at run time under "
        "the flag's name with underscores; GET /_admin/stats counts executions, requests and "
        "webhook deliveries; POST /_admin/reset forgets everything; POST /_admin/clock "
        '{"advance": S} moves a --manual-clock on. GROUP maps take one number '
        "for every group or e.g. 'tools=200,files=50'; groups: "
        + ", ".join(GROUP_NAMES)
        + " (storage: the signed upload/download URLs).",
    )

    def add(group: argparse._ArgumentGroup, flag: str, help: str, **options: object) -> None:
        name = flag.removeprefix("--").replace("-", "_")
        if "action" not in options and "type" not in options:
            options["type"] = type(getattr(defaults, name))
        group.add_argument(flag, default=getattr(defaults, name), help=help, **options)

    server = parser.add_argument_group("server")
    add(server, "--host", "interface to bind (default: %(default)s)")
    add(server, "--port", "port to bind, 0 for any (default: %(default)s)")
    add(server, "--api-key", "the one API key accepted (also VIDEOGEN_SANDBOX_KEY)")
    add(
        server,
        "--allow-default-key-on-network",
        f"listen on a non-loopback --host although the API key is the default "
        f"{DEFAULT_API_KEY!r}, which anyone can guess",
        action="store_true",
    )
    add(
        server,
        "--manual-clock",
        'time stands still until POST /_admin/clock {"advance": seconds} moves it (tests)',
        action="store_true",
    )
    add(
        server,
        "--url-ttl-seconds",
        "lifetime of signed upload/download URLs (default: %(default)s)",
    )
    add(
        server,
        "--public-url",
        "base URL of signed URLs in webhook payloads (default: http://HOST:PORT as bound)",
    )
    add(
        server,
        "--admin-token",
        "bearer token for /_admin/* (default: the API key opens them)",
    )
    add(server, "--seed", "seed of the randomness behind injected faults (default: %(default)s)")
    add(
        server,
        "--result-padding-bytes",
        "grow each generated PNG by this many bytes (a private ancillary chunk, ignored by "
        "decoders) when it is downloaded, to test big results (default: %(default)s)",
    )

    limits = parser.add_argument_group("rate limits (per API key, per endpoint group, per window)")
    limits.add_argument(
        "--rate-limit-profile",
        "--profile",
        choices=sorted(PROFILES),
        metavar="{" + ",".join(sorted(PROFILES)) + "}",
        default=defaults.rate_limit_profile,
        help="starting numbers: "
        + "; ".join(f"{name}: {profile.description}" for name, profile in PROFILES.items())
        + " (default: %(default)s)",
    )
    add(
        limits,
        "--rate-limits",
        "group=N/seconds,... over the profile's, e.g. tools=10/30,executions=100/30 "
        '(N requests per window of that many seconds: the "hour" of that group)',
    )
    add(
        limits,
        "--rate-limit-retry-after",
        "a 429 of a real limit carries Retry-After (the reference promises none)",
        action=argparse.BooleanOptionalAction,
    )

    webhooks = parser.add_argument_group("webhook delivery")
    add(webhooks, "--webhook-timeout-seconds", "timeout of one attempt (default: %(default)s)")
    add(
        webhooks,
        "--webhook-retry-base-seconds",
        "wait before the first retry, doubled for each next one (default: %(default)s)",
    )
    add(webhooks, "--webhook-max-attempts", "attempts per delivery (default: %(default)s)")

    executions = parser.add_argument_group("executions and account (changeable at run time)")
    add(executions, "--pending-seconds", "time an execution stays pending (default: %(default)s)")
    add(
        executions,
        "--running-seconds",
        "time an execution then stays running (default: %(default)s)",
    )
    add(
        executions,
        "--production-addon",
        "act as an account with the Production add-on, which allows watermarkMode NONE",
        action=argparse.BooleanOptionalAction,
    )
    add(
        executions,
        "--execution-failure-share",
        "share of executions that fail (0-1) (default: %(default)s)",
    )
    add(executions, "--execution-failure-code", "their error code (default: %(default)s)")
    add(executions, "--execution-failure-message", "their error message (default: %(default)s)")

    faults = parser.add_argument_group("request faults (changeable at run time)")
    add(faults, "--latency-ms", "GROUP map of added latency in ms")
    add(faults, "--latency-jitter-ms", "GROUP map of a further random 0..N ms")
    add(faults, "--server-error-share", "GROUP map of the share of requests answered 5xx")
    add(
        faults,
        "--server-error-statuses",
        "the 5xx statuses to pick from, of 500,502,503,504 (default: %(default)s)",
    )
    add(
        faults,
        "--server-error-after-handling-share",
        "share of those 5xx given after the request was carried out (default: %(default)s)",
    )
    add(
        faults,
        "--rate-limited-share",
        "GROUP map (not storage) of the share answered 429 beyond the limits",
    )
    add(
        faults,
        "--rate-limited-retry-after",
        "their Retry-After in seconds, 0 for none (default: %(default)s)",
    )
    add(
        faults,
        "--download-bytes-per-second",
        "throttle of storage downloads, 0 for none (default: %(default)s)",
    )
    add(
        faults,
        "--truncated-download-share",
        "share of downloads cut off part-way (default: %(default)s)",
    )
    add(
        faults,
        "--truncated-download-fraction",
        "the part of the body sent before the cut (default: %(default)s)",
    )

    hooks = parser.add_argument_group("webhook faults (changeable at run time)")
    add(hooks, "--webhook-drop-share", "share of deliveries never sent (default: %(default)s)")
    add(
        hooks,
        "--webhook-delay-seconds",
        "extra wait before each delivery (default: %(default)s)",
    )
    add(
        hooks,
        "--webhook-duplicate-share",
        "share of deliveries sent twice, same webhook-id (default: %(default)s)",
    )
    add(
        hooks,
        "--webhook-reorder-share",
        "share of deliveries held back so later ones overtake them (default: %(default)s)",
    )
    add(hooks, "--webhook-reorder-seconds", "how long they are held (default: %(default)s)")
    add(
        hooks,
        "--webhook-stale-failure-share",
        "share of succeeded executions that also send a tool_execution.failed for a failed "
        "first attempt, delivered after the succeeded one (default: %(default)s)",
    )
    add(
        executions,
        "--analysis-seconds",
        "time after a kept image is made until its description is ready (default: %(default)s)",
    )
    return parser


def config_from_cli(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> SandboxConfig:
    """The configuration for ``argv``: flags over environment over defaults."""
    try:
        defaults = SandboxConfig.from_env(environ)
    except ValueError as exc:
        build_parser(SandboxConfig()).error(str(exc))
    parser = build_parser(defaults)
    args = parser.parse_args(argv)
    try:
        return replace(defaults, **vars(args))
    except ValueError as exc:
        parser.error(str(exc))
