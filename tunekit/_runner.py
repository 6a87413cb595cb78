"""The trial runner: owns the Keras session, callbacks, seeding and failure handling."""

from __future__ import annotations

import gc
import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from tunekit._errors import ConfigError, TrialError

if TYPE_CHECKING:
    import keras

    from tunekit._spec import StudySpec
    from tunekit.data import Dataset

FAIL_REASON = "fail_reason"
_determinism_enabled = False


def trial_seed(seed: int, number: int) -> int:
    """The training seed of trial ``number`` in a study seeded with ``seed``."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, number]).generate_state(1)[0] % (2**31 - 1))


def _enable_determinism() -> None:
    global _determinism_enabled
    if not _determinism_enabled:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        _determinism_enabled = True


def _report_callback(trial: optuna.Trial, metric: str) -> "keras.callbacks.Callback":
    import keras

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
                raise ConfigError(f"metric {metric!r} is not computed for this task; available: {known}")
            value = float(value)
            if math.isfinite(value):
                trial.report(value, step=epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({metric}={value:.4g})")

    return ReportAndPrune()


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
    ) -> None:
        self.spec = spec
        self.dataset = dataset
        self.metric = metric
        self.seed = seed
        self.epochs = epochs

    def params_for(self, sampled: dict[str, Any]) -> dict[str, Any]:
        """Fixed parameters, the study's epochs, then the sampled values (which win)."""
        params = {"epochs": self.epochs or self.spec.epochs, **self.spec.fixed, **sampled}
        if self.epochs is not None:
            params["epochs"] = self.epochs  # --epochs overrides everything (quick runs)
        return params

    def __call__(self, trial: optuna.Trial) -> float:
        sampled = self.spec.space.sample(trial)
        try:
            return self._train(trial, self.params_for(sampled))
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(FAIL_REASON, "interrupted")
            raise
        except TrialError as exc:
            trial.set_user_attr(FAIL_REASON, str(exc))
            raise
        except Exception as exc:  # anything else inside one trial fails that trial only
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            trial.set_user_attr(FAIL_REASON, reason[:1000])
            raise TrialError(reason) from exc
        finally:
            gc.collect()

    def _train(self, trial: optuna.Trial, params: dict[str, Any]) -> float:
        import keras

        from tunekit.factory import build_model, resolve_params, training_callbacks

        ds = self.dataset
        resolved = resolve_params(params, task=ds.task)
        seed = trial_seed(self.seed, trial.number)
        trial.set_user_attr("seed", seed)
        keras.backend.clear_session()
        _enable_determinism()
        keras.utils.set_random_seed(seed)
        batch_size = int(resolved["batch_size"])
        steps = max(1, math.ceil(ds.n_train / batch_size))
        model = build_model(
            resolved, input_shape=ds.input_shape, task=ds.task, n_classes=ds.n_classes, steps_per_epoch=steps
        )
        trial.set_user_attr("param_count", int(model.count_params()))
        mode = "max" if self._maximize(trial) else "min"
        callbacks = [_report_callback(trial, self.metric), *training_callbacks(resolved, monitor=self.metric, mode=mode)]
        start = time.perf_counter()
        history = model.fit(
            ds.x_train,
            ds.y_train,
            validation_data=(ds.x_val, ds.y_val),
            epochs=int(resolved["epochs"]),
            batch_size=batch_size,
            callbacks=callbacks,
            verbose=0,
        )
        trial.set_user_attr("train_seconds", round(time.perf_counter() - start, 3))
        trial.set_user_attr("epochs_run", len(history.history.get("loss", [])))
        final = model.evaluate(ds.x_val, ds.y_val, batch_size=max(batch_size, 256), verbose=0, return_dict=True)
        for name, value in final.items():
            trial.set_user_attr(f"val_{name}", float(value))
        for name, values in history.history.items():
            if not name.startswith("val_") and name != "learning_rate" and values:
                trial.set_user_attr(f"train_{name}", float(values[-1]))
        key = self.metric[4:] if self.metric.startswith("val_") else self.metric
        value = final.get(key)
        if value is None or not math.isfinite(float(value)):
            raise TrialError(f"final {self.metric} is {value}; the model diverged")
        del model
        return float(value)

    @staticmethod
    def _maximize(trial: optuna.Trial) -> bool:
        return trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
