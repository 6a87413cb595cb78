"""Start optuna-dashboard on a study database."""

from __future__ import annotations

import socket

import click

from tunekit._errors import ConfigError
from tunekit._storage import mask, open_storage, resolve_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_port(host: str, port: int) -> None:
    """ConfigError when ``host:port`` cannot be bound (already in use, or not an address here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port") from None


def serve(*, storage: str | None = None, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run optuna-dashboard on ``storage`` until interrupted.

    Example:
        >>> serve(storage="sqlite:///tunekit.db", port=8080)  # doctest: +SKIP
    """
    from optuna_dashboard import run_server

    rdb = open_storage(storage, create=False)
    if not rdb.get_all_studies():
        raise ConfigError(f"'{mask(resolve_url(storage))}' has no studies yet; run `tunekit run STUDY_FILE` first")
    check_port(host, port)
    if host not in LOOPBACK:
        click.echo(f"warning: the dashboard has no authentication and {host}:{port} may be reachable from other machines", err=True)
    click.echo(f"optuna-dashboard on {mask(resolve_url(storage))}: http://{'localhost' if host in LOOPBACK else host}:{port}/  (Ctrl-C stops it)")
    run_server(rdb, host=host, port=port)
