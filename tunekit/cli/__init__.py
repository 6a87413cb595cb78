"""The ``tunekit`` command line: a thin layer that parses options and calls the library.

Exit codes: 0 success, 1 unexpected error or a full disk (``error: disk full (N bytes free
at PATH)``), 2 bad usage or configuration (one line, no traceback unless ``--debug``),
130 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import Any, NoReturn

import click

from tunekit._version import __version__
from tunekit._errors import ConfigError, TunekitError

_RESUMABLE = ("run", "worker", "compare")  # commands that a second run resumes


def _env_debug() -> bool:
    """``TUNEKIT_DEBUG=1``: tracebacks for errors, also those before the options are parsed."""
    return os.environ.get("TUNEKIT_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _exit_for(exc: BaseException, debug: bool, command: str | None) -> NoReturn:
    """The documented exit for ``exc`` (call it while handling ``exc``): one ``error:`` line,
    after a traceback when ``debug``; after Ctrl-C, how to go on for ``command``."""
    if isinstance(exc, click.exceptions.Exit):
        sys.exit(exc.exit_code)
    if isinstance(exc, BrokenPipeError):  # `tunekit strategies | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # what a shell reports for a command stopped by SIGPIPE
    if isinstance(exc, (click.exceptions.Abort, KeyboardInterrupt)):
        if _console:  # the process ends here: a further Ctrl-C must not turn exit 130 into a kill
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        resumable = command in _RESUMABLE
        click.echo("interrupted: run the same command to resume" if resumable else "interrupted", err=True)
        sys.exit(130)
    if isinstance(exc, click.UsageError):
        where = exc.ctx.command_path if exc.ctx else "tunekit"
        _fail(f"{exc.format_message()} (see '{where} --help')", 2, debug)
    if isinstance(exc, click.ClickException):
        _fail(exc.format_message(), exc.exit_code or 1, debug)
    if isinstance(exc, (ConfigError, TunekitError)):
        _fail(str(exc), 2 if isinstance(exc, ConfigError) else 1, debug)
    from tunekit.study import disk_full

    full = disk_full(exc)  # a database write on a full disk: say so, not Optuna's guess
    _fail(str(full) if full else f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback)", 1, debug)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _sigterm_as_ctrl_c() -> Any:
    """SIGTERM (``timeout``, systemd, ``kill``) at any moment of a command ends it as Ctrl-C does:
    exit 130 and one line, also before a run has set up its own handlers. Returns the handler to
    restore, or None when this is not the main thread or a caller already handles SIGTERM."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        return None
    signal.signal(signal.SIGTERM, _interrupt)
    return previous


class TunekitGroup(click.Group):
    """A click group that turns errors into one line and the documented exit codes; its
    ``--debug`` option (or ``TUNEKIT_DEBUG=1``) adds the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as exc:
            _exit_for(exc, bool(ctx.params.get("debug")) or _env_debug(), ctx.invoked_subcommand)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        previous = _sigterm_as_ctrl_c()
        try:
            rv = super().main(args=args, prog_name=prog_name or "tunekit", complete_var=complete_var,
                              standalone_mode=False, **extra)
        except (Exception, KeyboardInterrupt) as exc:  # before the options are parsed: no --debug yet
            _exit_for(exc, _env_debug(), None)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
        if standalone_mode:
            sys.exit(0)
        return rv


@click.group(cls=TunekitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tunekit")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (also: TUNEKIT_DEBUG=1).")
def cli(debug: bool) -> None:
    """Hyperparameter tuning for Keras MLPs; every trial kept in an Optuna study database.

    \b
    Quick start:
      tunekit run studies/digits.py --strategy tpe --trials 50
      tunekit studies
      tunekit dashboard
    """


# Each module defines COMMANDS, a list of click commands; listed here explicitly.
_COMMAND_MODULES = ("_run", "_inspect", "_health", "_dashboard", "_report", "_worker", "_compare", "_lesson",
                    "_import_kt", "_predict")


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"tunekit.cli.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


_console = False  # True in the ``tunekit`` process itself (not under click's CliRunner)


def main() -> None:
    """Console-script entry point. A second Ctrl-C while the first one's exit is under way
    still exits 130, without a traceback."""
    global _console
    _console = True
    try:
        cli.main()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _exit_now(130)
    except SystemExit as done:
        _exit_now(done.code)


#: Seconds the exit handlers may take before an exit that follows training ends the process anyway.
EXIT_GRACE = 10.0


def _exit_now(code: Any) -> NoReturn:
    """End the ``tunekit`` process once its command is done: Python's exit handlers run and
    stdout/stderr are flushed as at any exit, then the process ends without the interpreter's
    teardown of TensorFlow's modules and C++ state, about 1 s of CPU after every command that
    trained (``tests/cli/test_subprocess.py``). After a Ctrl-C (130) whatever it interrupted may
    still hold a lock: no garbage collection then, and a watchdog ends the process if the exit
    handlers wait longer than ``EXIT_GRACE`` (a double Ctrl-C once left a run hanging at exit in
    CI). A plain exit where TensorFlow is not loaded, the code is not a number, or a thread is
    still running after a command that was not interrupted."""
    import threading

    interrupted = code == 130
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if "tensorflow" not in sys.modules or not isinstance(code, (int, type(None))) or (others and not interrupted):
        sys.exit(code)
    import atexit
    import gc

    status = code or 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the exit is decided: a Ctrl-C now would only garble it
    threading.Thread(target=_exit_after, args=(EXIT_GRACE, status), daemon=True).start()
    if not interrupted:
        gc.collect()  # objects in reference cycles (an open file among them) are finalized, files flushed
    atexit._run_exitfuncs()  # logging, multiprocessing, Dask and MLflow clean up as at any exit
    _flush_and_exit(status)


def _exit_after(seconds: float, status: int) -> None:
    import time

    time.sleep(seconds)
    _flush_and_exit(status)


def _flush_and_exit(status: int) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):  # a closed pipe (`tunekit trials | head`); a flush under way
            pass
    os._exit(status)
