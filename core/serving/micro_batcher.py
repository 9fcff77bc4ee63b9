"""Gathers concurrent small requests to one model into one model call."""

import asyncio
import collections
import time


class MicroBatcher:
    """Runs the requests that arrive together as one batch in a worker thread.

    A model call has a fixed cost (the compiled function, the DataFrame)
    that dwarfs the cost of a row, so fifty one-row requests answered by one
    fifty-row call take little longer than one of them alone. Requests wait
    in a queue; the batcher takes the oldest, then whatever else arrives
    within `max_wait_s` of it (or is already waiting because the previous
    batch was still running), up to `max_rows` rows, and hands them to
    `predict` in one call. While a batch runs, the next one gathers.

    A batch that fails is retried one request at a time, so a request with
    a bad row gets its own error and the others still get their answers.

    Args:
        predict: callable taking a list of request payloads and returning a
            list of results, one per payload, in order. It runs in
            `executor`, never on the event loop.
        executor: a `concurrent.futures.Executor` for the model calls.
        max_rows: most rows per call; a request is never split.
        max_wait_s: longest time the oldest request waits for others.

    Example:
    >>> batcher = MicroBatcher(predict_parts, executor, max_rows=1000, max_wait_s=0.002)
    >>> await batcher.start()
    >>> result = await batcher.submit(rows, n_rows=len(rows))
    """

    def __init__(self, predict, executor, max_rows=1000, max_wait_s=0.002):
        if not isinstance(max_rows, int) or max_rows < 1:
            raise ValueError(f"`max_rows` must be a positive integer. Received: {max_rows!r}")
        if not max_wait_s >= 0:
            raise ValueError(f"`max_wait_s` must be >= 0. Received: {max_wait_s!r}")
        self.predict = predict
        self.executor = executor
        self.max_rows = max_rows
        self.max_wait_s = float(max_wait_s)
        self.calls = 0  # Model calls made, batched or alone; read by tests and the benchmark.
        self._pending = collections.deque()
        self._wakeup = None
        self._worker = None

    async def start(self):
        """Starts the gathering task on the running event loop."""
        if self._worker is None:
            self._wakeup = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        """Stops gathering; requests still waiting fail with RuntimeError."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        while self._pending:
            _, _, future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(RuntimeError("The server is shutting down."))

    async def submit(self, payload, n_rows):
        """Queues one request and waits for its result.

        Args:
            payload: what `predict` takes for this request (its rows).
            n_rows: the number of rows in `payload`.

        Returns:
            This request's result from `predict`.

        Raises:
            Whatever `predict` raised for this request alone.
        """
        if self._worker is None:
            raise RuntimeError("MicroBatcher.start() must be awaited before submit().")
        future = asyncio.get_running_loop().create_future()
        self._pending.append((payload, n_rows, future, time.monotonic()))
        self._wakeup.set()
        return await future

    async def _run(self):
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._gather()
            batch = self._take()
            if batch:
                await self._call(batch)

    async def _gather(self):
        """Waits until `max_rows` rows wait or the oldest request has waited `max_wait_s`."""
        deadline = self._pending[0][3] + self.max_wait_s
        while sum(item[1] for item in self._pending) < self.max_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:  # Not the builtin TimeoutError before Python 3.11.
                return

    def _take(self):
        """The oldest requests that fit in `max_rows` (at least one), skipping cancelled ones."""
        batch, rows = [], 0
        while self._pending:
            payload, n_rows, future, _ = self._pending[0]
            if batch and rows + n_rows > self.max_rows:
                break
            self._pending.popleft()
            if not future.done():  # Its client went away.
                batch.append((payload, future))
                rows += n_rows
        return batch

    async def _call(self, batch):
        loop = asyncio.get_running_loop()
        payloads = [payload for payload, _ in batch]
        try:
            self.calls += 1
            results = await loop.run_in_executor(self.executor, self.predict, payloads)
            if len(results) != len(batch):
                raise RuntimeError(
                    f"`predict` returned {len(results)} results for {len(batch)} requests."
                )
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            # Which request broke the batch is unknown: ask each one alone.
            for payload, future in batch:
                try:
                    self.calls += 1
                    (result,) = await loop.run_in_executor(self.executor, self.predict, [payload])
                except Exception as single_error:
                    _settle(future, error=single_error)
                else:
                    _settle(future, result=result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future, result=None, error=None):
    if future.done():  # Cancelled while the model ran.
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
