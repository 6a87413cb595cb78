"""``tunekit dashboard``: optuna-dashboard on the study database."""

from __future__ import annotations

import click

from tunekit.cli._common import storage_option


@click.command("dashboard")
@storage_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback is reachable by others, and the dashboard has no authentication.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--access-log", is_flag=True, help="Print a line per HTTP request.")
def dashboard_command(storage: str | None, host: str, port: int, access_log: bool) -> None:
    """Serve optuna-dashboard on the study database (loopback only by default).

    \b
    Shows every trial's parameters, per-epoch validation curve (intermediate values),
    user attributes (metrics, seconds, parameter count, fail_reason) and the study's
    attributes (space, data, strategy, seed).
    \b
    Example:
      tunekit dashboard --port 8080      # then open http://127.0.0.1:8080/
    """
    from tunekit.report import serve

    serve(storage=storage, host=host, port=port, access_log=access_log)


COMMANDS = [dashboard_command]
