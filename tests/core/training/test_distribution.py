"""tf.distribute training: MirroredStrategy on two logical CPUs, two loopback workers."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from core.estimators import TabularClassifier

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _run_workers(mode, tmp_path, n_workers):
    ports = [_free_port() for _ in range(n_workers)]
    processes, outputs = [], []
    for index in range(n_workers):
        env = dict(os.environ)
        if mode == "multi_worker":
            env["TF_CONFIG"] = json.dumps(
                {
                    "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                    "task": {"type": "worker", "index": index},
                }
            )
        out = tmp_path / f"worker{index}.npz"
        outputs.append(out)
        processes.append(
            subprocess.Popen(
                [sys.executable, WORKER, mode, str(out)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    logs = []
    for process in processes:
        try:
            logs.append(process.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
    for process, log in zip(processes, logs, strict=True):
        assert process.returncode == 0, log[-3000:]
    return [dict(np.load(out)) for out in outputs]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights(result):
    return [result[f"w{i}"] for i in range(sum(k.startswith("w") for k in result))]


def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    (result,) = _run_workers("mirrored", tmp_path, 1)
    assert int(result["replicas"]) == 2
    history = json.loads(str(result["history"]))
    assert history["loss"][-1] < history["loss"][0]
    assert float(result["accuracy"]) > 0.75
    np.testing.assert_allclose(result["proba"].sum(axis=1), 1.0, atol=1e-5)
    _check_user_callback(result, history)


def test_two_workers_train_one_model_and_agree_on_its_weights(tmp_path):
    first, second = _run_workers("multi_worker", tmp_path, 2)
    assert int(first["replicas"]) == 2
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    history = json.loads(str(first["history"]))
    assert history == json.loads(str(second["history"]))
    assert "val_loss" in history and history["loss"][-1] < history["loss"][0]
    assert float(first["accuracy"]) > 0.75
    _check_user_callback(first, history)


def _check_user_callback(result, history):
    """The worker's recording callback was called once per epoch with the logs users expect."""
    calls, keys = json.loads(str(result["calls"])), json.loads(str(result["keys"]))
    assert calls == ["train_begin"] + ["epoch_end"] * len(history["loss"])
    assert all({"loss", "val_loss", "val_auc"} <= set(k) for k in keys)


def test_unknown_distribution_is_refused_before_training():
    with pytest.raises(ValueError, match="`distribution` must be one of"):
        TabularClassifier(distribution="tpu").fit([[0.0], [1.0]], [0, 1])


def test_multi_worker_without_tf_config_names_the_variable(monkeypatch):
    from core.training import distribution

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(distribution, "_STRATEGIES", {})
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribution.distribution_strategy("multi_worker")
