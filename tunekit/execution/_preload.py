"""What the workers' fork server imports once before it forks each worker of ``run(..., workers=N)``
(``tunekit.execution._forkserver``): TensorFlow and Keras (quietly, as a worker would) and the
worker's own code. Importing runs no TensorFlow op, so its thread pools do not exist yet when a
worker is forked and each worker sizes them itself (``limit_tf_threads``)."""

from tunekit._quiet_tf import import_keras_quietly

import_keras_quietly()

import tunekit.data  # noqa: E402,F401
import tunekit.execution._bootstrap  # noqa: E402,F401  (the loop, Optuna's storage)
import tunekit.execution._runner  # noqa: E402,F401
import tunekit.execution._tf  # noqa: E402,F401
import tunekit.factory  # noqa: E402,F401
