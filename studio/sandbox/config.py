"""Settings of the sandbox, read from the environment and overridden by CLI flags.

Each flag ``--some-flag`` has an environment twin ``VIDEOGEN_SANDBOX_SOME_FLAG``;
a flag given on the command line wins over the environment, which wins over
the defaults below. The API key is also read from ``VIDEOGEN_SANDBOX_KEY``,
the name the rest of Studio uses.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

ENV_PREFIX = "VIDEOGEN_SANDBOX_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    # 0 asks the OS for a free port (handy in tests); the CLI default is 8100.
    port: int = 8100
    api_key: str = "sandbox"
    # How long a new execution stays `pending`, then `running`, before it succeeds.
    pending_seconds: float = 0.5
    running_seconds: float = 2.0
    # Without the Production add-on, `watermarkMode: NONE` is refused with a 403.
    production_addon: bool = False
    # Lifetime of signed upload and download URLs.
    url_ttl_seconds: float = 300.0

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        for name in ("pending_seconds", "running_seconds", "url_ttl_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

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
        description="A local, in-memory server that speaks the VideoGen API.",
        epilog=f"Every flag can also be set as {ENV_PREFIX}<FLAG> in the environment.",
    )
    parser.add_argument(
        "--host", default=defaults.host, help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=defaults.port,
        help="port to bind, 0 for any (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        default=defaults.api_key,
        help="the one API key accepted (also VIDEOGEN_SANDBOX_KEY)",
    )
    parser.add_argument(
        "--pending-seconds",
        type=float,
        default=defaults.pending_seconds,
        help="time an execution stays pending (default: %(default)s)",
    )
    parser.add_argument(
        "--running-seconds",
        type=float,
        default=defaults.running_seconds,
        help="time an execution then stays running (default: %(default)s)",
    )
    parser.add_argument(
        "--production-addon",
        action=argparse.BooleanOptionalAction,
        default=defaults.production_addon,
        help="act as an account with the Production add-on, which allows watermarkMode NONE",
    )
    parser.add_argument(
        "--url-ttl-seconds",
        type=float,
        default=defaults.url_ttl_seconds,
        help="lifetime of signed upload/download URLs (default: %(default)s)",
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
