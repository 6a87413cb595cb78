"""``tunekit dashboard``: optuna-dashboard on the study database."""

from __future__ import annotations

import click

from tunekit.cli._common import storage_option


@click.command("dashboard")
@storage_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; anything but loopback is reachable by others.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def dashboard_command(storage: str | None, host: str, port: int) -> None:
    """Serve optuna-dashboard on the study database (loopback only by default)."""
    from tunekit._dashboard import serve

    serve(storage=storage, host=host, port=port)


COMMANDS = [dashboard_command]
