"""Serve optuna-dashboard on a study database: checked storage, explicit bind, clear errors."""

from __future__ import annotations

import errno
import ipaddress
import socket
from socketserver import ThreadingMixIn
from typing import Any, Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from tunekit._errors import ConfigError
from tunekit.storage._storage import mask, open_storage, resolve_url

NO_AUTH_WARNING = (
    "warning: the dashboard has no authentication: anyone who can reach {url} can read, "
    "rename and delete the studies in this database"
)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dashboard_url(host: str, port: int) -> str:
    """The address to open in a browser (``0.0.0.0`` / ``::`` shown as this machine's name)."""
    host = host.strip("[]")
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    """The browser app fires requests in parallel: serve them on threads, like optuna-dashboard's CLI."""

    daemon_threads = True


class _ThreadedServer6(_ThreadedServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the default prints every API call)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


def make_server(*, storage: str | None = None, host: str = "127.0.0.1", port: int = 8080, access_log: bool = False) -> WSGIServer:
    """optuna-dashboard's WSGI app on ``storage``, bound to ``host:port`` (not yet serving).

    Raises ConfigError, before anything is bound, when the storage is missing, empty or not an
    Optuna database, or holds no study; and when ``host:port`` cannot be bound (in use).

    Example:
        >>> server = make_server(storage="sqlite:///tunekit.db", port=8080)  # doctest: +SKIP
        >>> server.serve_forever()  # doctest: +SKIP
    """
    from optuna_dashboard import wsgi

    url = resolve_url(storage)
    rdb = open_storage(url, create=False)  # a missing file / no Optuna tables -> ConfigError, nothing created
    if not rdb.get_all_studies():
        raise ConfigError(f"'{mask(url)}' has no studies yet; run `tunekit run STUDY_FILE` first, or pass --storage")
    app = wsgi(rdb)
    server_class = _ThreadedServer6 if ":" in host else _ThreadedServer
    handler = WSGIRequestHandler if access_log else _QuietHandler
    try:
        server = server_class((host.strip("[]"), port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use (another dashboard?); pick another with --port") from None
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}; check --host and --port") from None
    server.set_app(app)
    return server


def serve(
    *,
    storage: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    access_log: bool = False,
    echo: Callable[..., None] | None = None,
) -> None:
    """Run optuna-dashboard on ``storage`` until interrupted (Ctrl-C).

    Binding anything but a loopback address prints a warning: the dashboard has no
    authentication and can change the database.

    Example:
        >>> serve(storage="sqlite:///tunekit.db", port=8080)  # doctest: +SKIP
    """
    import click

    echo = echo or click.echo
    server = make_server(storage=storage, host=host, port=port, access_log=access_log)
    url = dashboard_url(host, port)
    try:
        if not is_loopback(host):
            echo(NO_AUTH_WARNING.format(url=url), err=True)
        echo(f"optuna-dashboard on {mask(resolve_url(storage))}: {url}  (Ctrl-C stops it)")
        server.serve_forever()
    except KeyboardInterrupt:
        echo("dashboard stopped")
    finally:
        server.server_close()
