"""The trial runner: owns the Keras session, callbacks, seeding, input pipeline and failures.

Speed (see ``benchmarks/trial_speed.py`` and ``benchmarks/results/trial_speed.md``): a short
trial is dominated by graph tracing and per-step Python overhead, not by arithmetic. The
runner therefore creates the optimizer's slot variables before ``fit`` (otherwise
TensorFlow traces the train step twice: once creating them, once more without), feeds Keras
a ``tf.data`` pipeline (the training rows cached once per runner, shuffled per trial with
the trial's seed, batched and prefetched), runs a whole epoch per ``tf.function`` call
(``steps_per_execution``), validates in one batch from a cached validation pipeline (so the
final evaluation reuses the traced validation function instead of retracing it) through a
validation function traced as one step (``one_step_evaluation``: Keras would trace its epoch
loop, a ``while_loop`` of ``cond``s, around that single batch), runs the train step of a trial
of a few steps in all eagerly instead of tracing it (``eager_training``), and moves
the objects alive before the first trial (TensorFlow's and Keras' modules) out of the
garbage collector's sight once, so the collections between trials stay short. Each of these
is a field of ``Speedups`` so the benchmark can switch it off. XLA (``jit_compile``) stays
off: Keras turns it off anyway while TensorFlow's op determinism is on, which the runner
needs so that the same seed gives the same result.

Memory: every trial runs inside ``released_custom_gradients`` (``tunekit/execution/_tf.py``), which
drops the gradient functions TensorFlow registers globally for each traced train step; they
hold the traced graphs, about 6 MB per trained model, which a long study would otherwise
keep forever (``benchmarks/results/memory.md``). After every trial the C heap's free pages go
back to the system (``release_free_memory``, whose docstring says what still grows and why).
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from typing import TYPE_CHECKING, Any, Callable, Iterator

import optuna

from tunekit._errors import ConfigError, TrialError
from tunekit._records import CONFIRMS, FAIL_REASON, INTERRUPTED, PRUNED_REASON, REPEATS
from tunekit._seeds import TRAINING_SEED_LIMIT, derive_seed
from tunekit._units import target_units_callback, to_target_units
from tunekit.execution._health import health_probe, record_health
from tunekit.execution._speedups import (Speedups, default_speedups, eager_training, keras_functions,
                                         one_step_evaluation)
from tunekit.execution._tf import release_free_memory, released_custom_gradients, trial_process_state
from tunekit.execution._trial import RunnerTrial, one_line, out_of_memory, physical_memory, record_threads, stop_run
from tunekit.storage._retry import DatabaseUnreachable, connection_error

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from tunekit._spec import StudySpec
    from tunekit.data import Dataset
    from tunekit.factory import Resolved

#: Validation rows per batch when validating "in one batch" (bounded for large data sets).
MAX_VAL_BATCH = 8192


def trial_seed(seed: int, number: int) -> int:
    """The training seed of trial ``number`` in a study seeded with ``seed``."""
    return derive_seed(seed, number, below=TRAINING_SEED_LIMIT)


def _report_callback(trial: RunnerTrial, metric: str) -> "keras.callbacks.Callback":
    import keras

    confirming = CONFIRMS in trial.user_attrs or REPEATS in trial.user_attrs

    class ReportAndPrune(keras.callbacks.Callback):
        """Reports the study metric after every epoch; stops on a non-finite loss; prunes."""

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            loss = logs.get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                raise TrialError(f"loss became {float(loss)} at epoch {epoch + 1}; try a smaller learning_rate or gradient clipping (clipnorm)")
            value = logs.get(metric)
            if value is None:
                known = ", ".join(sorted(logs))
                raise ConfigError(f"metric {metric!r} is not computed for this model (available: {known}); set "
                                  "metric= in the StudySpec to one of them, or compile with metrics=['accuracy']")
            value = float(value)
            if math.isfinite(value):
                trial.report(value, step=epoch)
                if not confirming and trial.should_prune():  # a confirmation run or a repeat is never pruned
                    reason = f"pruned at epoch {epoch + 1} ({metric}={value:.4g})"
                    trial.set_user_attr(PRUNED_REASON, reason)
                    raise optuna.TrialPruned(reason)

    return ReportAndPrune()


class _Pipelines:
    """The data set as ``tf.data`` pipelines, built once and reused by every trial."""

    def __init__(self, dataset: "Dataset") -> None:
        import tensorflow as tf

        self._train = tf.data.Dataset.from_tensor_slices((dataset.x_train, dataset.y_train)).cache()
        self._n_train = dataset.n_train
        self._val_rows = (dataset.x_val, dataset.y_val)
        self._val: dict[int, tf.data.Dataset] = {}

    def train(self, batch_size: int, seed: int) -> "tf.data.Dataset":
        """The training rows reshuffled every epoch in an order fixed by ``seed``, batched."""
        import tensorflow as tf

        shuffled = self._train.shuffle(self._n_train, seed=seed, reshuffle_each_iteration=True)
        return shuffled.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def val(self, batch_size: int) -> "tf.data.Dataset":
        """The validation rows in batches of ``batch_size``, cached."""
        import tensorflow as tf

        if batch_size not in self._val:
            pipe = tf.data.Dataset.from_tensor_slices(self._val_rows).batch(batch_size).cache()
            self._val[batch_size] = pipe.prefetch(tf.data.AUTOTUNE)
        return self._val[batch_size]


class TrialRunner:
    """The Optuna objective for one study: sample parameters, build, train, record.

    Example:
        >>> runner = TrialRunner(spec=spec, dataset=dataset, metric="val_accuracy", seed=0)  # doctest: +SKIP
        >>> study.optimize(runner, n_trials=3, catch=(TrialError,))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        spec: "StudySpec",
        dataset: "Dataset",
        metric: str,
        seed: int,
        epochs: int | None = None,
        speedups: Speedups | None = None,
        on_model: Callable[["keras.Model"], None] | None = None,
        strategy: str | None = None,
        health: bool = True,
        prune_unhealthy: bool = False,
    ) -> None:
        """``on_model`` is called with each trial's model once it is trained and evaluated
        (before the runner lets it go), e.g. to save it; ``tunekit best --save-model`` uses it.
        ``strategy`` is recorded as each trial's ``strategy`` attribute (a resumed study may
        change strategy). ``health`` probes every trial and stores its diagnosis
        (``tunekit.health``); ``prune_unhealthy`` stops a trial diagnosed exploding, dead or
        symmetric (PRUNED, the diagnosis as its ``pruned_reason``)."""
        self.health = health or prune_unhealthy
        self.prune_unhealthy = prune_unhealthy
        self.on_model = on_model
        self.strategy = strategy
        self.spec = spec
        self.dataset = dataset
        self.metric = metric
        self.seed = seed
        self.epochs = epochs
        self.speedups = default_speedups() if speedups is None else speedups
        self._pipelines: _Pipelines | None = None
        self._froze_gc = False
        self._gc_checked = False  # whether this run looked for a freeze (``_freeze_gc``)

    def params_for(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """Fixed parameters, the study's epochs, then the sampled values (which win)."""
        params = {"epochs": self.epochs or self.spec.epochs, **self.spec.fixed, **sampled}
        if self.epochs is not None:
            params["epochs"] = self.epochs  # --epochs overrides everything (quick runs)
        return params

    def __call__(self, trial: optuna.Trial) -> float:
        """Run one trial. A TrialError (or any unexpected error) fails this trial only; a
        ConfigError, or an error of the strategy while it samples, stops the run: the trial is
        failed with its reason and ``STOPPED_RUN`` (it does not count) and ConfigError raised."""
        if self.strategy is not None:
            trial.set_user_attr("strategy", self.strategy)
        record_threads(trial)
        sampled = self._sample(trial)
        try:
            with released_custom_gradients():  # without it, every trained model stays in memory (~6 MB)
                return self.train(trial, self.params_for(sampled))
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(FAIL_REASON, INTERRUPTED)
            raise
        except ConfigError as exc:  # the same in every trial: stop the run (keras-tuner's FatalError)
            stop_run(trial, str(exc))
            raise
        except TrialError as exc:
            trial.set_user_attr(FAIL_REASON, str(exc))
            raise
        except Exception as exc:  # anything else inside one trial fails that trial only
            if out_of_memory(exc):  # not TensorFlow's 330 characters: the layer, the size, what to change
                reason = self._out_of_memory_reason(sampled)
            else:
                reason = one_line(exc)
            trial.set_user_attr(FAIL_REASON, reason[:1000])
            raise TrialError(reason) from exc
        finally:
            gc.collect()
            release_free_memory()  # freed, but still resident in glibc's arenas: RSS would creep up

    def _sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's sampled parameters; an error of the strategy stops the run (ConfigError)."""
        try:
            return self.spec.space.sample(trial)
        except (optuna.TrialPruned, KeyboardInterrupt):
            raise
        except ConfigError as exc:
            stop_run(trial, str(exc))
            raise
        except Exception as exc:  # a faulty (plug-in) strategy fails every trial alike
            if isinstance(exc, DatabaseUnreachable) or connection_error(exc) is not None:
                raise  # the database, not the strategy: the worker's loop says so
            name = self.strategy or type(trial.study.sampler).__name__
            reason = f"strategy {name!r} failed: {one_line(exc)}"
            stop_run(trial, reason)
            raise ConfigError(reason) from exc

    def train(self, trial: RunnerTrial, params: dict[str, Any]) -> float:
        """Build, train and evaluate ``params`` (complete: see ``params_for``), recording into
        ``trial`` (user attrs, one report per epoch); return the metric. Errors propagate:
        ``__call__`` turns them into a failed trial."""
        import keras

        from tunekit.factory import resolve_params

        ds = self.dataset
        fast = self.speedups
        own = self.spec.model is not None  # the user's build(hp) / HyperModel, not the factory
        resolved = None if own else resolve_params(params, task=ds.task)  # once per trial: every builder uses it
        seed = trial_seed(self.seed, trial.number)
        trial.set_user_attr("seed", seed)
        if fast.freeze_gc:
            self._freeze_gc()
        keras.backend.clear_session()
        with trial_process_state():  # op determinism, logger level, random generators: this trial's only
            keras.utils.set_random_seed(seed)
            if own:
                from tunekit.execution._own_model import fit_own_model

                return fit_own_model(self, trial, params, seed)
            return self._fit(trial, resolved, seed)

    def _fit(self, trial: RunnerTrial, resolved: "Resolved", seed: int) -> float:
        """``train`` once the parameters are resolved and the seed is set."""
        ds = self.dataset
        batch_size = int(resolved["batch_size"])
        steps = max(1, math.ceil(ds.n_train / batch_size))
        model = self._build(trial, resolved, steps)
        probe, after = health_probe(trial, ds, prune=self.prune_unhealthy) if self.health else (None, [])
        callbacks = self.callbacks(trial, resolved, probe, after)
        train, val, fit_kwargs = self.inputs(batch_size, seed)
        start = time.perf_counter()
        try:
            history = model.fit(
                *train, validation_data=val, epochs=int(resolved["epochs"]), callbacks=callbacks, verbose=0, **fit_kwargs
            )
        finally:
            record_health(trial, probe)
        return self.finish(trial, model, history, start, val, batch_size)

    def finish(self, trial: RunnerTrial, model: "keras.Model", history: Any, start: float, val: Any,
               batch_size: int) -> float:
        """After ``fit``: the training time and epochs, the final validation metrics (in the target's
        units), the last training metrics, ``on_model``; the study metric's final value."""
        ds = self.dataset
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("epochs_run", len(history.history.get("loss", [])))
        if not isinstance(val, tuple):  # the cached pipeline: same traced function, no retrace
            final = model.evaluate(val, verbose=0, return_dict=True)
        else:
            final = model.evaluate(*val, batch_size=max(batch_size, 256), verbose=0, return_dict=True)
        keras_functions(model)  # the model leaves the runner (on_model) with Keras' own fit and evaluate
        if ds.target_scale is not None:  # regression: rmse, mae, mse in the target's own units
            final = to_target_units(final, ds.target_scale[1])
            trial.set_user_attr("target", ds.target)
        for name, value in final.items():
            trial.set_user_attr(f"val_{name}", float(value))
        for name, values in history.history.items():
            if not name.startswith("val_") and name != "learning_rate" and values:
                trial.set_user_attr(f"train_{name}", float(values[-1]))
        key = self.metric[4:] if self.metric.startswith("val_") else self.metric
        value = final.get(key)
        if value is None or not math.isfinite(float(value)):
            raise TrialError(f"final {self.metric} is {value}; the model diverged")
        if self.on_model is not None:
            self.on_model(model)
        del model
        return float(value)

    def _freeze_gc(self) -> None:
        """Collect, then freeze what is alive (imported modules, the data): later collections skip it.
        Only once, and only when nothing is frozen yet (a caller's own ``gc.freeze`` is left alone).
        Looked at once a run, not once a trial: ``gc.get_freeze_count`` walks every frozen object
        (a test process that froze its heap spent 5% of its CPU there)."""
        if self._gc_checked:
            return
        self._gc_checked = True
        if gc.get_freeze_count() == 0:
            gc.collect()
            gc.freeze()
            self._froze_gc = True

    @contextlib.contextmanager
    def process_scope(self) -> Iterator["TrialRunner"]:
        """Run this runner's trials inside it: on exit the garbage collector's freeze it made is
        undone (``gc.unfreeze``), so a program that runs a study gets its collector back as it was.
        A worker process, which exits after its trials, does without."""
        try:
            yield self
        finally:
            self._gc_checked = False
            if self._froze_gc:
                gc.unfreeze()
                self._froze_gc = False

    def _build(self, trial: RunnerTrial, resolved: "Resolved", steps: int) -> "keras.Model":
        """Record ``param_count`` (computed, so an out-of-memory trial has it too), refuse a model
        whose float32 weights alone exceed the machine's memory, then build and tune it."""
        from tunekit.factory import build_model, count_params, out_of_memory_message

        ds = self.dataset
        shape = {"input_shape": ds.input_shape, "task": ds.task, "n_classes": ds.n_classes}
        count = count_params(resolved, **shape)
        trial.set_user_attr("param_count", count)
        if 4 * count > physical_memory():
            raise TrialError(out_of_memory_message(resolved, **shape))
        model = build_model(resolved, steps_per_epoch=steps, **shape)
        self.tune(model, steps, int(resolved["epochs"]))
        if int(model.count_params()) != count:  # never keep a wrong count, should the two ever disagree
            trial.set_user_attr("param_count", int(model.count_params()))
        return model

    def _out_of_memory_reason(self, sampled: dict[str, Any]) -> str:
        """The failure reason of a trial that ran out of memory (see ``out_of_memory_message``)."""
        from tunekit.factory import out_of_memory_message

        ds = self.dataset
        try:
            return out_of_memory_message(self.params_for(sampled), input_shape=ds.input_shape, task=ds.task,
                                         n_classes=ds.n_classes)
        except ConfigError:
            return "out of memory; reduce units or batch_size"

    def callbacks(self, trial: RunnerTrial, resolved: "Resolved | None", probe: "keras.callbacks.Callback | None" = None,
                  after: list["keras.callbacks.Callback"] | None = None) -> list["keras.callbacks.Callback"]:
        """Target units, the health probe (before report-and-prune, so a diverged trial is probed
        before it fails), report-and-prune, pruning on diagnosis (``after``), then what the
        factory's parameters ask for (early stopping, plateau; none for the user's own model)."""
        from tunekit.factory import training_callbacks

        mode = "max" if self._maximize(trial) else "min"
        scale = self.dataset.target_scale
        units = [] if scale is None else [target_units_callback(scale[1])]  # first: the others see target units
        health = [] if probe is None else [probe]
        own = [] if resolved is None else training_callbacks(resolved, monitor=self.metric, mode=mode)
        return [*units, *health, _report_callback(trial, self.metric), *(after or []), *own]

    def tune(self, model: "keras.Model", steps: int, epochs: int) -> None:
        """Apply the speed-ups that act on the compiled model (``steps`` per epoch, at most ``epochs``)."""
        fast = self.speedups
        if fast.prebuild_optimizer and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        spe = fast.steps_per_execution
        model.steps_per_execution = steps if spe == "epoch" else max(1, int(spe))
        if fast.jit_compile:
            model.jit_compile = True  # Keras warns and keeps False when a layer cannot be compiled
        if fast.one_batch_validation and fast.one_step_validation and self.dataset.n_val <= MAX_VAL_BATCH:
            one_step_evaluation(model, eager=epochs <= fast.eager_validation_epochs)  # ``inputs``: one batch
        if steps * epochs <= fast.eager_training_steps:
            eager_training(model)

    def inputs(self, batch_size: int, seed: int) -> tuple[tuple[Any, ...], Any, dict[str, Any]]:
        """(fit's positional data, validation_data, extra fit keyword arguments)."""
        ds = self.dataset
        fast = self.speedups
        if fast.tf_data or fast.one_batch_validation:
            if self._pipelines is None:
                self._pipelines = _Pipelines(ds)
        if fast.tf_data:
            train: tuple[Any, ...] = (self._pipelines.train(batch_size, seed),)
            kwargs: dict[str, Any] = {"shuffle": False}  # the pipeline shuffles, seeded
        else:
            train = (ds.x_train, ds.y_train)
            kwargs = {"batch_size": batch_size}
        if fast.one_batch_validation:
            val: Any = self._pipelines.val(min(ds.n_val, MAX_VAL_BATCH))
        else:
            val = (ds.x_val, ds.y_val)
        return train, val, kwargs

    @staticmethod
    def _maximize(trial: RunnerTrial) -> bool:
        return trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
