"""MicroBatcher: one call per batch, a bad request alone, and requests that wait out their window.

These tests need only the standard library and the `serve` extra, so they also run on an
interpreter without TensorFlow (with `--noconftest`), such as Python 3.10.
"""

import asyncio
import concurrent.futures
import types

import pytest

from core.serving import micro_batcher
from core.serving.micro_batcher import MicroBatcher


def _batch_run(batcher, payloads):
    async def run():
        await batcher.start()
        try:
            answers = asyncio.gather(
                *(batcher.submit(p, len(p)) for p in payloads), return_exceptions=True
            )
            # A batcher whose task died never answers: fail after 5 s instead of hanging.
            return await asyncio.wait_for(answers, timeout=5)
        finally:
            await batcher.stop()

    return asyncio.run(run())


def _one_at_a_time(batcher, payloads):
    """Submits each payload after the previous answer, so each request waits out its window.

    A batcher whose task died never answers: each request fails after 2 s instead of hanging.
    """

    async def run():
        await batcher.start()
        try:
            return [await asyncio.wait_for(batcher.submit(p, len(p)), timeout=2) for p in payloads]
        finally:
            await batcher.stop()

    return asyncio.run(run())


def _double(parts):
    return [[2 * row for row in part] for part in parts]


def test_micro_batcher_splits_results_and_isolates_a_bad_request():
    calls = []

    def predict(parts):
        calls.append([len(p) for p in parts])
        rows = [row for part in parts for row in part]
        if "bad" in rows:
            raise ValueError("row 'bad' is not a number")
        return [[10 * row for row in part] for part in parts]

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        batcher = MicroBatcher(predict, executor, max_rows=5, max_wait_s=0.05)
        payloads = [[1], [2, 3], ["bad"], [4], [5, 6, 7]]
        results = _batch_run(batcher, payloads)
    assert results[0] == [10] and results[1] == [20, 30] and results[3] == [40]
    assert results[4] == [50, 60, 70]
    assert isinstance(results[2], ValueError) and "'bad'" in str(results[2])
    # At most 5 rows per call: [1], [2, 3], [bad], [4] first, then [5, 6, 7]; the failing
    # batch is retried one request at a time.
    assert calls[0] == [1, 2, 1, 1] and [1] in calls[1:] and [3] in calls[1:]


def test_micro_batcher_rejects_bad_settings():
    with pytest.raises(ValueError, match="max_rows"):
        MicroBatcher(lambda parts: parts, None, max_rows=0)
    with pytest.raises(ValueError, match="max_wait_s"):
        MicroBatcher(lambda parts: parts, None, max_wait_s=-1)


def test_micro_batcher_keeps_serving_after_a_request_waits_out_its_window():
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        batcher = MicroBatcher(_double, executor, max_rows=10, max_wait_s=0.01)
        assert _one_at_a_time(batcher, [[1], [2, 3], [4]]) == [[2], [4, 6], [8]]
    assert batcher.calls == 3


def test_micro_batcher_catches_the_asyncio_timeout_of_python_3_10(monkeypatch):
    # Before Python 3.11, asyncio.wait_for raises asyncio.TimeoutError, a class apart from the
    # builtin TimeoutError. Give the batcher such an asyncio on any Python: a batcher that
    # caught the builtin class would let it escape and its task would die on the first window.
    class AsyncioTimeoutError(Exception):
        pass

    async def wait_for(awaitable, timeout):
        try:
            return await asyncio.wait_for(awaitable, timeout)
        except asyncio.TimeoutError as error:
            raise AsyncioTimeoutError from error

    asyncio_310 = types.ModuleType("asyncio")
    asyncio_310.__dict__.update(vars(asyncio))
    asyncio_310.TimeoutError = AsyncioTimeoutError
    asyncio_310.wait_for = wait_for
    monkeypatch.setattr(micro_batcher, "asyncio", asyncio_310)
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        batcher = MicroBatcher(_double, executor, max_rows=10, max_wait_s=0.01)
        assert _one_at_a_time(batcher, [[1], [2, 3], [4]]) == [[2], [4, 6], [8]]
