"""`keras-domains demo`'s runner: every task reported in name order, failures counted."""

import core.demo as demo


class _Quick:
    @classmethod
    def demo(cls, sample_data, out_dir):
        return {"data": "d", "metric": "accuracy", "value": 0.9}


class _Broken:
    @classmethod
    def demo(cls, sample_data, out_dir):
        raise RuntimeError("no data")


def _registry(monkeypatch, tasks):
    monkeypatch.setattr(demo, "list_tasks", lambda: sorted(tasks))
    monkeypatch.setattr(demo, "get_task", lambda name: tasks[name])


def test_rows_come_back_in_name_order_longest_task_first(monkeypatch, tmp_path, capsys):
    _registry(monkeypatch, {"b.quick": _Quick, "a.quick": _Quick, "z.slow": _Quick})
    monkeypatch.setattr(demo, "DEMO_SECONDS", {"z.slow": 100})
    assert demo.run_demo(str(tmp_path), str(tmp_path), workers=1) == 0
    out = capsys.readouterr().out
    started = [line.split()[1] for line in out.splitlines() if line.startswith("[demo]")]
    assert started == ["z.slow", "a.quick", "b.quick"]
    table = out[out.index("task ") :].splitlines()[2:]
    assert [line.split()[0] for line in table] == ["a.quick", "b.quick", "z.slow"]


def test_a_failing_task_is_reported_and_fails_the_run(monkeypatch, tmp_path, capsys):
    _registry(monkeypatch, {"a.quick": _Quick, "b.broken": _Broken})
    assert demo.run_demo(str(tmp_path), str(tmp_path), workers=1) == 1
    out = capsys.readouterr().out
    assert "error" in out and "no data" in out and "a.quick" in out


def test_quiet_workers_import_tensorflow_quietly(monkeypatch, tmp_path):
    _registry(monkeypatch, {"a.quick": _Quick})
    seen = []

    class _SerialPool:
        def __init__(self, workers, mp_context=None, initializer=None):
            seen.append(initializer)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, function, *iterables):
            return map(function, *iterables)

    monkeypatch.setattr(demo, "ProcessPoolExecutor", _SerialPool)
    assert demo.run_demo(str(tmp_path), str(tmp_path), workers=2, quiet=True) == 0
    assert demo.run_demo(str(tmp_path), str(tmp_path), workers=2) == 0
    assert seen == [demo.import_tensorflow_quietly, None]
