"""The MLflow sink: one experiment per study, one parent run per study run (or export), one
nested run per trial.

A trial's run carries its parameters (searched and fixed), its per-epoch curves as metric steps,
its final metrics (``final/...``, in the user's units), ``train_seconds``, ``param_count``,
``epochs_run``, its start and end time, a status (FINISHED complete, KILLED pruned, FAILED
failed) and tags: ``tunekit.state``, ``tunekit.fail_reason``, ``tunekit.health`` ... and
``tunekit.study`` / ``tunekit.database`` (password masked) / ``tunekit.trial_number``, by which
a trial already sent is found again and never sent twice. ``tunekit.best`` is ``true`` on the
study's (confirmed) best. MLflow is imported only here, when a run asks for it.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tunekit._errors import ConfigError
from tunekit.storage._url import mask
from tunekit.tracking._record import BEST_TAG, DATABASE_TAG, NUMBER_TAG, STUDY_TAG, TrialRecord

INSTALL = "pip install 'tunekit[mlflow]'"
#: URI schemes MLflow's tracking client understands (its file store, ``file:``, refuses new runs since MLflow 3).
SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "databricks")
#: MLflow's own HTTP retries, shortened (unless set) so that an unreachable server costs seconds,
#: not minutes: tunekit retries at the next trial and at the end instead.
#: Nor does MLflow print a "View run ... at" line per trial on stdout.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                  "MLFLOW_HTTP_REQUEST_TIMEOUT": "20", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
_STATUS = {"complete": "FINISHED", "pruned": "KILLED", "fail": "FAILED"}
_BATCH = 1000  # MLflow's log_batch limit on metrics (100 on params and tags)


def check_mlflow(uri: Any) -> str:
    """``uri`` checked (a known scheme, MLflow installed); ConfigError (one line) otherwise.

    Example:
        >>> check_mlflow("ftp://host")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        tunekit._errors.ConfigError: --mlflow 'ftp://host' is not an MLflow tracking URI; use ...
    """
    if not isinstance(uri, str) or not uri.strip():
        raise ConfigError(f"--mlflow needs a tracking URI such as http://127.0.0.1:5000, got {uri!r}")
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme not in SCHEMES:
        raise ConfigError(f"--mlflow {mask(uri)!r} is not an MLflow tracking URI; use http://HOST:PORT (an MLflow "
                          "server) or a database such as sqlite:///mlflow.db")
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError(f"--mlflow needs MLflow, which is not installed; install it with: {INSTALL}") from None
    return uri


def _quoted(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


class MlflowSink:
    """Sends trial records to the MLflow tracking server at ``uri`` (experiment: the study's name).

    Example:
        >>> sink = MlflowSink(uri="http://127.0.0.1:5000", study="digits", database="sqlite:///tunekit.db")
        >>> sink.label
        'MLflow'
    """

    label = "MLflow"

    def __init__(self, *, uri: str, study: str, database: str) -> None:
        self.uri, self.study, self.database = uri, study, mask(database)
        self.where = mask(uri)
        self.sent: dict[int, str] = {}  # trial number -> run id
        self.best: set[int] = set()
        self.experiment_id: str | None = None
        self._client: Any = None
        self._stale: dict[int, str] = {}  # runs left unfinished by an interrupted send
        self._parent: str | None = None
        self._parent_tags: dict[str, str] = {}

    def start(self, attrs: dict[str, Any], *, role: str) -> None:
        """Connect, find or create the experiment, read which trials it already has; ``role``
        names the parent run (``run`` or ``export``), created with the first trial sent."""
        from mlflow.tracking import MlflowClient

        for key, value in _HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
        client = MlflowClient(tracking_uri=self.uri)
        experiment = client.get_experiment_by_name(self.study)
        if experiment is not None and experiment.lifecycle_stage == "deleted":
            raise RuntimeError(f"experiment {self.study!r} is deleted; restore it with `mlflow experiments restore "
                               f"--experiment-id {experiment.experiment_id}` or delete it for good")
        self.experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(
            self.study, tags={STUDY_TAG: self.study, DATABASE_TAG: self.database})
        self._client = client
        self._read_sent()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        self._parent_tags = {
            "mlflow.runName": f"{self.study} {role} {stamp}", STUDY_TAG: self.study, DATABASE_TAG: self.database,
            "tunekit.role": role, **{f"tunekit.{k}": str(attrs[k]) for k in ("metric", "direction", "strategy", "task")
                                     if attrs.get(k) is not None}}
        if role == "run":
            self._open_parent()

    def _read_sent(self) -> None:
        """The trials of this study and database already in the experiment (finished runs), and
        the unfinished runs an interrupted send left (deleted when the trial is sent again)."""
        query = f"tags.`{STUDY_TAG}` = {_quoted(self.study)} and tags.`{DATABASE_TAG}` = {_quoted(self.database)}"
        token = None
        while True:
            page = self._client.search_runs([self.experiment_id], filter_string=query, max_results=1000, page_token=token)
            for run in page:
                number = run.data.tags.get(NUMBER_TAG)
                if number is None:
                    continue
                target = self._stale if run.info.status in ("RUNNING", "SCHEDULED") else self.sent
                target[int(number)] = run.info.run_id
                if run.data.tags.get(BEST_TAG) == "true":
                    self.best.add(int(number))
            token = page.token
            if not token:
                break
        for number in self.sent:
            self._stale.pop(number, None)

    def _open_parent(self) -> str:
        if self._parent is None:
            self._parent = self._client.create_run(self.experiment_id, tags=dict(self._parent_tags)).info.run_id
        return self._parent

    def send(self, record: TrialRecord) -> None:
        """Log one trial as a nested run (see the module docstring)."""
        from mlflow.entities import Metric, Param, RunTag

        client = self._client
        stale = self._stale.pop(record.number, None)
        if stale is not None:
            client.delete_run(stale)
        tags = {**record.tags, "mlflow.parentRunId": self._open_parent(), "mlflow.runName": f"trial {record.number}"}
        run_id = client.create_run(self.experiment_id, start_time=record.start_ms, tags=tags).info.run_id
        self._stale[record.number] = run_id  # until it is terminated
        stamp = record.end_ms or int(time.time() * 1000)
        metrics = [Metric(name, value, stamp, step) for name, points in record.curves.items() for step, value in points]
        metrics += [Metric(name, value, stamp, 0) for name, value in {**record.finals, **record.numbers}.items()]
        params = [Param(str(k)[:250], str(v)[:6000]) for k, v in {**record.fixed, **record.params}.items()]
        for chunk in _chunks(params, 100):
            client.log_batch(run_id, params=chunk)
        for chunk in _chunks(metrics, _BATCH):
            client.log_batch(run_id, metrics=chunk)
        client.set_terminated(run_id, status=_STATUS.get(record.state, "FAILED"), end_time=record.end_ms)
        del self._stale[record.number]
        self.sent[record.number] = run_id

    def mark_best(self, number: int | None, value: float | None, metric: str) -> None:
        """Tag the best trial's run ``tunekit.best=true`` (and an earlier best's ``false``); the
        parent run gets ``tunekit.best_trial`` and the metric ``best/<metric>``."""
        client = self._client
        for old in sorted(self.best - {number}):
            if old in self.sent:
                client.set_tag(self.sent[old], BEST_TAG, "false")
            self.best.discard(old)
        if number is not None and number in self.sent and number not in self.best:
            client.set_tag(self.sent[number], BEST_TAG, "true")
            self.best.add(number)
        if self._parent is not None and number is not None:
            client.set_tag(self._parent, "tunekit.best_trial", str(number))
            if value is not None:
                client.log_metric(self._parent, f"best/{metric}", float(value))

    def log_artifacts(self, number: int, paths: list[Any], *, folder: str) -> str:
        """Upload ``paths`` (files, or folders kept whole) under ``folder/`` of trial ``number``'s
        run (sent already); its run id."""
        run_id = self.sent[number]
        for path in paths:
            if path.is_dir():
                self._client.log_artifacts(run_id, str(path), artifact_path=f"{folder}/{path.name}")
            elif path.is_file():
                self._client.log_artifact(run_id, str(path), artifact_path=folder)
        return run_id

    def close(self, status: str = "FINISHED") -> None:
        """End the parent run (FINISHED, or KILLED after Ctrl-C)."""
        if self._parent is not None and self._client is not None:
            self._client.set_terminated(self._parent, status=status)
            self._parent = None

    def describe(self) -> str:
        return f"MLflow at {self.where} (experiment {self.study!r})"
