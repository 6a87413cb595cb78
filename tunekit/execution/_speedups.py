"""How the trial runner feeds and drives Keras (``Speedups``), and the switch that turns it all
off (``TUNEKIT_SPEEDUPS=none``). ``tunekit/execution/_runner.py``'s docstring explains why each
speed-up pays; ``benchmarks/trial_speed.py`` measures them.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from tunekit._errors import ConfigError

if TYPE_CHECKING:
    import keras


#: ``Speedups.eager_training_steps``'s default (see ``benchmarks/results/trial_speed-steps*.md``).
EAGER_TRAINING_STEPS = 12


@dataclass(frozen=True, kw_only=True)
class Speedups:
    """How the runner feeds and drives Keras. None of them changes what is trained: only
    ``tf_data`` changes the order in which training rows are shuffled (still fixed by the
    trial's seed), ``one_batch_validation`` the rounding of the averaged validation loss, and
    ``eager_training_steps`` at most the last bits of the weights (eager ops are not fused as
    TensorFlow's graph optimiser fuses a traced step).

    Attributes:
        prebuild_optimizer: create the optimizer's variables before ``fit`` (one trace, not two).
        freeze_gc: ``gc.freeze()`` once before the first trial (see ``gc.freeze``): objects alive
            then are not scanned again by the cyclic garbage collector until ``process_scope`` ends
            (a worker process: until it exits). Skipped when something else froze objects already.
        tf_data: feed a cached, prefetched ``tf.data`` pipeline instead of numpy arrays.
        steps_per_execution: optimizer steps per ``tf.function`` call; ``"epoch"`` runs a
            whole epoch per call, 1 is Keras' default.
        one_batch_validation: validate in a single batch (up to ``MAX_VAL_BATCH`` rows) from
            a cached pipeline, and evaluate the final model through the same traced function.
        one_step_validation: with ``one_batch_validation`` and validation data of one batch,
            trace the validation function as one step, not as the epoch loop that
            ``steps_per_execution`` asks of training (``one_step_evaluation``).
        eager_validation_epochs: with ``one_step_validation``, a trial of at most this many
            epochs validates eagerly, without tracing its validation step at all: tracing costs
            about as much as six to ten eager validations (``benchmarks/trial_speed.py --epochs 2``, 10, 40).
            0: always traced.
        eager_training_steps: a trial of at most this many optimizer steps in all (steps per
            epoch times epochs) trains eagerly, without tracing its train step: tracing costs
            more than such a trial's steps run one by one (``benchmarks/trial_speed.py
            --batch-size``: at 12 steps the two cost the same on the reference network, fewer
            steps or a smaller network run faster eagerly). 0: always traced.
        jit_compile: compile the train step with XLA. Keras falls back to no XLA (with a
            warning) while op determinism is enabled, i.e. always inside the runner today.
    """

    prebuild_optimizer: bool = True
    freeze_gc: bool = True
    tf_data: bool = True
    steps_per_execution: int | str = "epoch"
    one_batch_validation: bool = True
    one_step_validation: bool = True
    eager_validation_epochs: int = 6
    eager_training_steps: int = EAGER_TRAINING_STEPS
    jit_compile: bool = False

    @classmethod
    def none(cls) -> "Speedups":
        """Plain ``model.fit`` on numpy arrays: Keras' defaults (the benchmark's baseline)."""
        return cls(prebuild_optimizer=False, freeze_gc=False, tf_data=False, steps_per_execution=1,
                   one_batch_validation=False, one_step_validation=False, eager_validation_epochs=0,
                   eager_training_steps=0, jit_compile=False)


def default_speedups() -> Speedups:
    """``Speedups()``, or every speed-up off when the environment has ``TUNEKIT_SPEEDUPS=none``
    (to rule the runner's input pipeline out when a result looks wrong, and for benchmarks)."""
    value = os.environ.get("TUNEKIT_SPEEDUPS", "").strip().lower()
    if value in ("", "default", "all", "on"):
        return Speedups()
    if value in ("none", "off", "0"):
        return Speedups.none()
    raise ConfigError(f"TUNEKIT_SPEEDUPS must be 'none' or 'default', got {value!r}")


@contextlib.contextmanager
def _making_eagerly(model: "keras.Model", eager: bool) -> Iterator[None]:
    """``model.run_eagerly`` on (when ``eager``) while Keras makes a function inside: Keras reads it
    only then, so the function is made eager (untraced) and the model's own setting stays as it was."""
    run_eagerly = model.run_eagerly
    model.run_eagerly = run_eagerly or eager
    try:
        yield
    finally:
        model.run_eagerly = run_eagerly


def one_step_evaluation(model: "keras.Model", *, eager: bool = False) -> None:
    """Give ``model`` a validation function of one step, for validation data of one batch.

    With ``steps_per_execution`` > 1 Keras traces its validation function as a loop of up to that
    many steps (``tf.while_loop`` over ``tf.cond``s); around a single batch that loop is pure
    tracing cost (about a tenth of a short trial on iris). Here Keras' own function is traced, and
    run, with ``steps_per_execution`` 1 (Keras reads it while tracing): the same ``test_step`` on
    the same batch, and the same metrics. ``eager``: Keras' own function made as for
    ``run_eagerly`` (not traced at all; training stays traced), which pays for a short trial.
    Only for validation data of exactly one batch: one call evaluates one batch, so the runner
    gives Keras' own back (``keras_functions``) before the model leaves it.

    Example::

        model.steps_per_execution = 12  # a whole epoch per training call
        one_step_evaluation(model)      # fit's validation (one batch) and evaluate: one step each
        keras_functions(model)          # model.evaluate on any data, as Keras does it
    """
    with _making_eagerly(model, eager):
        model.make_test_function(force=True)
    keras_function = model.test_function

    def test_function(iterator: Any) -> Any:
        steps = model.steps_per_execution
        model.steps_per_execution = 1
        try:
            return keras_function(iterator)
        finally:
            model.steps_per_execution = steps

    test_function.one_step = True  # type: ignore[attr-defined]  # what tests look for
    model.test_function = test_function


def eager_training(model: "keras.Model") -> None:
    """Give ``model`` Keras' own training function made as for ``run_eagerly``: each step runs
    op by op, nothing is traced. The same ``train_step``, so the same updates; it pays only for
    a trial of a few steps, where tracing the step costs more than running it eagerly.
    ``keras_functions`` gives the model a traced one again before it leaves the runner.

    Example::

        eager_training(model)     # fit: no tf.function traced for training
        keras_functions(model)    # a later fit traces, as Keras does
    """
    with _making_eagerly(model, True):
        model.make_train_function(force=True)
    model.train_function.eager = True  # type: ignore[attr-defined]  # what keras_functions and tests look for


def keras_functions(model: "keras.Model") -> None:
    """Undo ``one_step_evaluation`` and ``eager_training``: ``model.evaluate`` and ``model.fit``
    make Keras' own functions again."""
    if getattr(model.test_function, "one_step", False):
        model.test_function = None
    if getattr(model.train_function, "eager", False):
        model.train_function = None
