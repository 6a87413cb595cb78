"""The ``tunekit`` command line: a thin layer that parses options and calls the library.

Exit codes: 0 success, 1 unexpected error or a full disk (``error: disk full (N bytes free
at PATH)``), 2 bad usage or configuration (one line, no traceback unless ``--debug``),
130 interrupted.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from tunekit._version import __version__
from tunekit._errors import ConfigError, TunekitError

_RESUMABLE = ("run", "worker", "compare")  # commands that a second run resumes


def _debug_requested(args: Any) -> bool:
    argv = list(args) if args is not None else sys.argv[1:]
    return "--debug" in argv or os.environ.get("TUNEKIT_DEBUG", "") not in ("", "0")


def _interrupted(args: Any) -> str:
    """The last line after Ctrl-C: how to go on, for the commands that run trials."""
    argv = list(args) if args is not None else sys.argv[1:]
    command = next((a for a in argv if not a.startswith("-")), "")
    return "interrupted: run the same command to resume" if command in _RESUMABLE else "interrupted"


def _fail(message: str, code: int, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class TunekitGroup(click.Group):
    """A click group that turns errors into one line and the documented exit codes."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        debug = _debug_requested(args)
        try:
            rv = super().main(args=args, prog_name=prog_name or "tunekit", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo(_interrupted(args), err=True)
            sys.exit(130)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "tunekit"
            _fail(f"{exc.format_message()} (see '{where} --help')", 2, debug)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code or 1, debug)
        except ConfigError as exc:
            _fail(str(exc), 2, debug)
        except TunekitError as exc:
            _fail(str(exc), 1, debug)
        except Exception as exc:
            from tunekit._storage import disk_full

            full = disk_full(exc)  # a database write on a full disk: say so, not Optuna's guess
            _fail(str(full) if full else f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)", 1, debug)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        if standalone_mode:
            sys.exit(0)
        return rv


@click.group(cls=TunekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tunekit")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Hyperparameter tuning for Keras MLPs; every trial kept in an Optuna study database.

    \b
    Quick start:
      tunekit run studies/digits.py --strategy tpe --trials 50
      tunekit studies
      tunekit dashboard
    """


# Each module defines COMMANDS, a list of click commands; listed here explicitly.
_COMMAND_MODULES = ("_run", "_inspect", "_dashboard", "_report", "_worker", "_compare")


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"tunekit.cli.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli.main()
