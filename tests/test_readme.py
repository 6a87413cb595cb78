"""The README's commands are commands tunekit accepts, and its quick start needs only the base install."""

from __future__ import annotations

import re
import shlex
import tomllib

import click
import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _readme_commands() -> list[str]:
    """Every `tunekit ...` line inside the README's code blocks (fenced or indented)."""
    commands = []
    in_fence = False
    for line in README.splitlines():
        if line.strip().startswith("```"):
            in_fence = not in_fence
            continue
        text = line.strip()
        if (in_fence or line.startswith("    ")) and text.startswith("tunekit "):
            commands.append(text.split("  #")[0].split(" # ")[0].strip())
    return commands


COMMANDS = _readme_commands()


def test_the_readme_shows_commands() -> None:
    assert len(COMMANDS) >= 10
    assert any(c.startswith("tunekit report") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_parses(command: str) -> None:
    """Each command names a real subcommand with options it accepts (parsed, not run)."""
    from tunekit.cli import cli

    args = shlex.split(command)[1:]
    with cli.make_context("tunekit", list(args)) as ctx:
        name, sub, rest = cli.resolve_command(ctx, list(args))
        assert sub is not None, command
        try:
            sub.make_context(name, rest, parent=ctx)
        except click.UsageError as exc:  # pragma: no cover - the assertion message is the point
            pytest.fail(f"README command {command!r} is refused: {exc.format_message()}")


def test_quick_start_needs_no_extra() -> None:
    """`make demo` installs the base package; the README's next commands (report, compare's plots,
    dashboard) must work with it, so their libraries are base dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"plotly", "matplotlib", "optuna-dashboard"} <= base
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: \$\(BASE\)$", makefile, re.M)
    assert re.search(r"^\$\(BASE\): pyproject.toml\n(\t.*\n)*\t.*pip install [^\n]* -e \.$", makefile, re.M)


def test_what_the_readme_commands_leave_behind_is_ignored() -> None:
    """`make demo`, `compare`, `report` and the notebook leave files git must not offer to commit."""
    import subprocess

    paths = ["tunekit.db", "compare/compare.csv", "notebooks/quickstart.db", "notebooks/quickstart.html",
             "digits.html", "plots/history.png", "best.keras", "best.json"]
    done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", *paths], capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(paths), done.stdout


def test_no_password_on_a_command_line_and_study_files_are_code() -> None:
    """A storage URL on the command line shows its password to every user (`ps`): the README
    passes it through TUNEKIT_STORAGE, and says that a study file is code that tunekit runs."""
    assert not any("--storage" in c and ("$TUNEKIT_STORAGE" in c or ":PASSWORD@" in c) for c in COMMANDS)
    assert "PASSWORD@" not in README.split("## Scaling out")[1].split("Passwords are masked")[0]
    assert "Run only study files you would run as a script." in README
