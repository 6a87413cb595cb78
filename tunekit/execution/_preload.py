"""What the workers' fork server imports once before it forks each worker of ``run(..., workers=N)``
(``tunekit.execution._forkserver``): TensorFlow and Keras (quietly, as a worker would) and the
worker's own code. Importing runs no TensorFlow op, so its thread pools do not exist yet when a
worker is forked and each worker sizes them itself (``limit_tf_threads``).

The server ends when the run's process does. It then leaves at once (``os._exit`` as its last exit
handler), without the interpreter's teardown of TensorFlow: about 2 s during which it still held
the run's stdout and stderr open, so that ``tunekit run --workers 2 | tee log``, or a program
reading the run's output to its end, waited that long after the run had exited."""

import atexit
import os
import sys

from tunekit._quiet_tf import import_keras_quietly

import_keras_quietly()

import tunekit.data  # noqa: E402,F401
import tunekit.execution._bootstrap  # noqa: E402,F401  (the loop, Optuna's storage)
import tunekit.execution._runner  # noqa: E402,F401
import tunekit.execution._tf  # noqa: E402,F401
import tunekit.factory  # noqa: E402,F401


def _in_fork_server() -> bool:
    """Whether this import runs in multiprocessing's fork server (its ``main`` imports the preload)."""
    from multiprocessing import forkserver

    frame = sys._getframe()
    while frame is not None and frame.f_code is not forkserver.main.__code__:
        frame = frame.f_back
    return frame is not None


def _leave(server: int) -> None:
    if os.getpid() == server:  # not in a fork of it (a worker ends with os._exit of its own anyway)
        os._exit(0)


#: This process's id where it is the fork server, else None (the module imported elsewhere).
SERVER = os.getpid() if _in_fork_server() else None
if SERVER is not None:
    atexit.register(_leave, SERVER)  # registered first: the last handler to run
