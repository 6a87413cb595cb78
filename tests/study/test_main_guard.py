"""A script that starts processes (``workers=N``, ``dask="local"``) outside ``if __name__ ==
"__main__":`` is refused with one message before anything is written: each spawned process
imports the script again, and multiprocessing would stop every one with a long traceback and
leave the run saying "run the same command again", which fails the same way. Real scripts run
by a real interpreter (the check reads the script's own frames and source)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAD = """\
import tunekit
from tunekit import Choice, StudySpec

spec = StudySpec(data="iris", space={"units": Choice([4, 8])}, epochs=1)
"""


def python(script: Path) -> subprocess.CompletedProcess[str]:
    """``python SCRIPT`` in the script's folder."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, str(script)], cwd=script.parent, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize(("call", "what", "line"), [
    ('tunekit.run(spec, n_trials=2, storage="sqlite:///s.db", workers=2)\n', "workers=2", 5),
    ('def main():\n    tunekit.run(spec, n_trials=2, storage="sqlite:///s.db", dask="local:2")\n\n\nmain()\n',
     "dask='local:2'", 9),
])
def test_an_unguarded_script_is_refused_before_the_database(tmp_path: Path, call: str, what: str, line: int) -> None:
    script = tmp_path / "train.py"
    script.write_text(HEAD + call)
    proc = python(script)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"tunekit._errors.ConfigError: {what} starts processes that each import {script} again (line {line} would "
        "run in every one of them): put that call under `if __name__ == \"__main__\":`"), proc.stderr
    assert "bootstrapping phase" not in proc.stderr and not (tmp_path / "s.db").exists()


def test_a_guarded_call_a_function_under_the_guard_and_python_c_pass(tmp_path: Path) -> None:
    script = tmp_path / "guarded.py"
    script.write_text(textwrap.dedent("""\
        from tunekit.study._checks import check_main_guard


        def main():
            check_main_guard("workers=2")


        if __name__ == "__main__":
            check_main_guard("workers=2")
            main()
        if "__main__" == __name__:
            main()
        print("passed")
        """))
    proc = python(script)
    assert proc.returncode == 0 and proc.stdout.strip() == "passed", proc.stderr
    script.write_text(script.read_text().replace('if "__main__" == __name__:\n    main()\n', "main()\n"))
    proc = python(script)
    assert proc.returncode == 1 and "(line 11 would run in every one of them)" in proc.stderr, proc.stderr
    code = "from tunekit.study._checks import check_main_guard; check_main_guard('workers=2'); print('passed')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "passed", proc.stderr  # no script to import again


def test_a_local_dask_cluster_that_forks_is_not_refused() -> None:
    """Dask configured to fork its workers imports nothing again (checked by hand: an unguarded
    ``dask="local:2"`` script then trains, exit 0): only a spawning cluster needs the guard."""
    import dask

    from tunekit.execution import dask_spawns_here

    assert dask_spawns_here("local") and dask_spawns_here("local:2")  # Dask's default: spawn
    assert not dask_spawns_here("tcp://127.0.0.1:8786") and not dask_spawns_here("localhost:8786")
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
        assert not dask_spawns_here("local:2")
