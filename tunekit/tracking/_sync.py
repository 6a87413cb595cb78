"""Send a study's finished trials from the study database to MLflow and TensorBoard.

The study database is the source: ``Tracking.sync`` reads the finished trials (complete,
pruned, failed) and sends each sink the ones it does not have yet (an MLflow run tagged with
the study, database and trial number; a ``trial-NNNN`` folder). The same code serves
``tunekit export STUDY --to mlflow URI`` and a live ``run --mlflow URI``, where the process that
called ``run`` syncs after every finished trial and at the end: with ``--workers``, ``--dask``
and ``--fuse`` alike, the workers never talk to MLflow.

Logging never fails a trial: a sink that fails (an unreachable server) prints one warning line,
is retried at a later trial (at most every ``RETRY_SECONDS``) and at the end, and the end says
how many trials it lacks (``12 trials not logged to MLflow: ...``).
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Callable, Iterator

import optuna

from tunekit._confirm import confirmed_best
from tunekit._records import FINISHED, retried_numbers
from tunekit.storage._url import mask, resolve_url
from tunekit.tracking._mlflow import MlflowSink, check_mlflow
from tunekit.tracking._record import trial_record
from tunekit.tracking._tensorboard import TensorBoardSink, check_tensorboard

RETRY_SECONDS = 30.0
OnTrial = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return mask(f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")[:300])


class _State:
    """One sink's progress: started or not, its last failure, when to try again."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.started, self.error, self.warned, self.next_try = sink, False, None, False, 0.0


def best_trial(study: optuna.Study, trials: list[Any]) -> tuple[int | None, float | None]:
    """The study's best as ``best`` shows it: after ``run --confirm`` the confirmed configuration
    with the best mean (its first trial, the mean), else Optuna's best trial; (None, None) when
    no trial completed."""
    chosen = confirmed_best(trials, maximize=study.direction == optuna.study.StudyDirection.MAXIMIZE)
    if chosen is not None:
        return chosen.trial.number, chosen.mean
    try:
        return study.best_trial.number, study.best_value
    except ValueError:
        return None, None


class Tracking:
    """The sinks of one run or export of ``study`` (stored at ``database``).

    Example:
        >>> t = Tracking.open(mlflow=None, tensorboard=None, study="digits", database="sqlite:///tunekit.db")
        >>> t is None  # nothing asked for: nothing to track
        True
    """

    def __init__(self, *, sinks: list[Any], study: str, database: str, role: str = "run",
                 echo: Callable[[str], None] | None = None) -> None:
        self._states = [_State(s) for s in sinks]
        self.study, self.database, self.role = study, database, role
        self._echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.newly_sent = 0

    @classmethod
    def open(cls, *, mlflow: str | None, tensorboard: str | None, study: str, database: str,
             role: str = "run", echo: Callable[[str], None] | None = None) -> "Tracking | None":
        """The tracking asked for, checked before the database is touched (ConfigError, one
        line, nothing written); None when neither ``mlflow`` nor ``tensorboard`` is given."""
        sinks: list[Any] = []
        if mlflow is not None:
            sinks.append(MlflowSink(uri=check_mlflow(mlflow), study=study, database=database))
        if tensorboard is not None:
            path = check_tensorboard(tensorboard, study=study, database=database)
            sinks.append(TensorBoardSink(logdir=path, study=study, database=database))
        return cls(sinks=sinks, study=study, database=database, role=role, echo=echo) if sinks else None

    def _failed(self, state: _State, exc: Exception) -> None:
        state.error, state.next_try = _reason(exc), time.monotonic() + RETRY_SECONDS
        if not state.warned:
            state.warned = True
            self._echo(f"warning: {state.sink.describe()}: {state.error}; the study database keeps every trial, "
                       "sending is retried at later trials and at the end")

    def _ready(self, state: _State, study: optuna.Study, force: bool) -> bool:
        if not force and time.monotonic() < state.next_try:
            return False
        if not state.started:
            try:
                state.sink.start(dict(study.user_attrs), role=self.role)
                state.started = True
                self._link(study, state.sink)
            except Exception as exc:  # logging never fails a trial
                self._failed(state, exc)
        return state.started

    def _link(self, study: optuna.Study, sink: Any) -> None:
        """Record the MLflow experiment on the study (``mlflow`` attr), so the database side finds it."""
        if not isinstance(sink, MlflowSink):
            return
        link = {"uri": sink.where, "experiment_id": sink.experiment_id, "experiment": sink.study}
        with contextlib.suppress(Exception):  # a read-only database: the runs' tags still link both sides
            if study.user_attrs.get("mlflow") != link:
                study.set_user_attr("mlflow", link)

    def sync(self, study: optuna.Study, *, force: bool = False) -> None:
        """Send every sink the finished trials it lacks; a failing sink is skipped until it is
        due again (``force``: now)."""
        trials = study.get_trials(deepcopy=False, states=FINISHED)
        retried, attrs = retried_numbers(trials), study.user_attrs
        for state in self._states:
            if not (force or any(t.number not in state.sink.sent for t in trials)) or not self._ready(state, study, force):
                continue
            try:
                for t in [t for t in trials if t.number not in state.sink.sent]:  # what the sink lacks, once started
                    state.sink.send(trial_record(t, attrs, study=self.study, database=self.database, retried=retried))
                    self.newly_sent += 1
                state.error = None
            except Exception as exc:
                self._failed(state, exc)

    def on_trial(self, then: OnTrial | None) -> OnTrial:
        """``run``'s ``on_trial`` callback that also syncs (after calling ``then``)."""
        def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            if then is not None:
                then(study, trial)
            self.sync(study)
        return callback

    def _finish_sink(self, state: _State, study: optuna.Study, trials: list[Any]) -> None:
        sink = state.sink
        if isinstance(sink, TensorBoardSink):
            sink.write_config(trials, str(study.user_attrs.get("metric") or "value"),
                              {k for t in trials for k in trial_record(t, study.user_attrs, study="", database="",
                                                                      retried=set()).finals})
            return
        number, value = best_trial(study, trials)
        sink.mark_best(number, value, str(study.user_attrs.get("metric") or "value"))
        sink.close("FINISHED")

    def finish(self, study: optuna.Study) -> list[str]:
        """The last sync, the best tagged, the parent run ended; the lines saying what is missing."""
        self.sync(study, force=True)
        trials = study.get_trials(deepcopy=False, states=FINISHED)
        lines = []
        for state in self._states:
            if state.started:
                try:
                    self._finish_sink(state, study, trials)
                except Exception as exc:
                    self._failed(state, exc)
            missing = [t for t in trials if t.number not in state.sink.sent]
            if missing:
                target = "mlflow " + state.sink.where if isinstance(state.sink, MlflowSink) else \
                    f"tensorboard {state.sink.logdir}"
                lines.append(f"{len(missing)} trials not logged to {state.sink.label}: {state.error or 'not sent'}; "
                             f"send them with: tunekit export {self.study} --to {target}")
        for line in lines:
            self._echo(line)
        return lines

    def abort(self) -> None:
        """After Ctrl-C or an error: end the MLflow parent run KILLED (nothing else is sent)."""
        for state in self._states:
            if state.started and isinstance(state.sink, MlflowSink):
                with contextlib.suppress(Exception):
                    state.sink.close("KILLED")


@contextlib.contextmanager
def track_run(tracking: Tracking | None, study: optuna.Study, on_trial: OnTrial | None) -> Iterator[OnTrial | None]:
    """Within ``run``: the ``on_trial`` callback to use (syncing after each finished trial when
    ``tracking``); on leaving, the final sync, or ``abort`` when the run stopped on an error."""
    if tracking is None:
        yield on_trial
        return
    tracking.sync(study, force=True)  # connect now; a resumed study's earlier trials go first
    try:
        yield tracking.on_trial(on_trial)
    except BaseException:
        tracking.abort()
        raise
    tracking.finish(study)


def export_study(study: optuna.Study, *, to: str, where: str, storage: str | None = None) -> list[str]:
    """``tunekit export STUDY --to mlflow URI`` (or ``--to tensorboard DIR``): send the study's
    finished trials that ``where`` does not have yet; the lines to print. ``storage``: the study's
    database URL (default ``$TUNEKIT_STORAGE``, else ``sqlite:///tunekit.db``), recorded password
    masked. ConfigError (one line, nothing sent) for a bad ``to`` or ``where``.

    Example:
        >>> from tunekit.tracking import export_study
        >>> export_study(study, to="mlflow", where="http://127.0.0.1:5000", storage="sqlite:///tunekit.db")  # doctest: +SKIP
        ['sent 12 trials to MLflow at http://127.0.0.1:5000 (experiment 'digits'); 8 were there already']
    """
    from tunekit._errors import ConfigError

    lines: list[str] = []  # warnings and the closing count come back as lines
    if to not in ("mlflow", "tensorboard"):
        raise ConfigError(f"--to {to!r} is not a tracking target; use --to mlflow URI or --to tensorboard DIR")
    tracking = Tracking.open(mlflow=where if to == "mlflow" else None, tensorboard=where if to == "tensorboard" else None,
                             study=study.study_name, database=resolve_url(storage), role="export", echo=lines.append)
    assert tracking is not None
    tracking.sync(study, force=True)
    state = tracking._states[0]
    had = len(state.sink.sent) - tracking.newly_sent
    tracking.finish(study)
    if state.started:
        lines.insert(0, f"sent {tracking.newly_sent} trials to {state.sink.describe()}; {had} were there already")
    return lines


def log_model(study: optuna.Study, *, uri: str, storage: str | None, paths: list[str]) -> str:
    """``best --save-model PATH --mlflow URI``: log the saved model (a file or a folder) and its
    model card as artifacts (``model/``) of the best trial's run, sending the study's missing
    trials first; the line to print. TunekitError (one line) when MLflow fails.

    Example:
        >>> from tunekit.tracking import log_model
        >>> log_model(study, uri="http://127.0.0.1:5000", storage="sqlite:///tunekit.db", paths=["best.keras"])  # doctest: +SKIP
        'logged best.keras to MLflow run 3f2a... (trial 7 of experiment 'digits')'
    """
    from pathlib import Path

    from tunekit._errors import TunekitError

    database = resolve_url(storage)
    tracking = Tracking(sinks=[MlflowSink(uri=check_mlflow(uri), study=study.study_name, database=database)],
                        study=study.study_name, database=database, role="export", echo=lambda line: None)
    state = tracking._states[0]
    tracking.sync(study, force=True)
    tracking.finish(study)
    number, _ = best_trial(study, study.get_trials(deepcopy=False, states=FINISHED))
    sink = state.sink
    if not state.started or number not in sink.sent:
        raise TunekitError(f"the model is saved but not logged to {sink.describe()}: {state.error or 'no best trial'}")
    try:
        run_id = sink.log_artifacts(number, [Path(p) for p in paths], folder="model")
    except Exception as exc:
        raise TunekitError(f"the model is saved but not logged to {sink.describe()}: {_reason(exc)}") from None
    return f"logged {', '.join(paths)} to MLflow run {run_id} (trial {number} of experiment {sink.study!r})"
