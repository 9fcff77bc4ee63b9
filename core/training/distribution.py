"""`tf.distribute` strategies behind the estimators' `distribution` parameter."""

import json
import os

import keras

DISTRIBUTIONS = (None, "mirrored", "multi_worker")

# TensorFlow allows one collective setup per process, so each strategy is made once.
_STRATEGIES = {}


def check_distribution(distribution):
    """Raises a ValueError naming the options unless `distribution` is one of them."""
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"`distribution` must be one of {DISTRIBUTIONS}. "
            f"Received: distribution={distribution!r}"
        )
    if distribution is not None and keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"distribution={distribution!r} uses tf.distribute and needs the TensorFlow "
            f"backend; this process runs Keras on {keras.backend.backend()!r}. With JAX, "
            "set a `keras.distribution.DataParallel` distribution instead (see the README)."
        )


def distribution_strategy(distribution):
    """The process' strategy for `distribution`, made on first use.

    `"mirrored"` is `tf.distribute.MirroredStrategy` over the local GPUs (or
    the logical CPU devices, when there is no GPU); `"multi_worker"` is
    `tf.distribute.MultiWorkerMirroredStrategy`, configured from the
    `TF_CONFIG` environment variable. A multi-worker program should call
    this at its start, before other TensorFlow work, which TensorFlow
    requires of collective operations.

    Args:
        distribution: None, `"mirrored"` or `"multi_worker"`.

    Returns:
        A `tf.distribute.Strategy`, or None for None.
    """
    check_distribution(distribution)
    if distribution is None:
        return None
    if distribution not in _STRATEGIES:
        import tensorflow as tf

        if distribution == "mirrored":
            # MirroredStrategy picks GPUs only; without one, use every logical CPU device.
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _STRATEGIES[distribution] = tf.distribute.MirroredStrategy(
                devices=[device.name for device in devices]
            )
        else:
            _check_tf_config()
            try:
                _STRATEGIES[distribution] = tf.distribute.MultiWorkerMirroredStrategy()
            except RuntimeError as error:
                raise RuntimeError(
                    "MultiWorkerMirroredStrategy could not be set up because TensorFlow was "
                    "already running: call core.training.distribution_strategy('multi_worker') "
                    f"at the start of the program. ({error})"
                ) from error
    return _STRATEGIES[distribution]


def worker_index():
    """This worker's index in `TF_CONFIG` (0 outside a cluster)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    return int(config.get("task", {}).get("index", 0))


def _check_tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "distribution='multi_worker' reads the cluster from the TF_CONFIG environment "
            "variable, which is not set. Set it on every worker, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.'
        )
    try:
        config = json.loads(raw)
        config["cluster"]["worker"]
        config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            "TF_CONFIG must be JSON with 'cluster': {'worker': [...]} and "
            f"'task': {{'type': 'worker', 'index': i}}. Received: {raw!r}"
        ) from error
