"""``python -m studio.sandbox [--host H] [--port P] ...``: serve the sandbox in the foreground."""

from __future__ import annotations

import logging
import sys

from .config import config_from_cli
from .server import ExposureRefused, serve


def main(argv: list[str] | None = None) -> None:
    config = config_from_cli(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        serve(config)
    except ExposureRefused as exc:
        sys.exit(f"videogen sandbox: {exc}")
    except OSError as exc:  # most often: the port is taken
        sys.exit(f"videogen sandbox: cannot listen on {config.host}:{config.port}: {exc}")


if __name__ == "__main__":
    main()
