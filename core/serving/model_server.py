"""The HTTP model server: saved models behind FastAPI, run by uvicorn."""

import concurrent.futures
import contextlib
import gc
import html
import json
import re

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.serving.body_size_limit import BodySizeLimit
from core.serving.fast_predict_path import FastPredictPath
from core.serving.model_page import index_page, model_page, read_assets
from core.serving.request_schema import (
    ExplainResponse,
    GenerateResponse,
    ModelInfo,
    ModelList,
    PredictResponse,
    RegressionResponse,
    SurvivalResponse,
    title_prefix,
)
from core.serving.served_model import ServedModel

MAX_BODY_BYTES = 1 << 20
MAX_BATCH = 1000
#: Rows of one explain request, at most (or `max_batch`, if smaller): explanations
#: integrate gradients over dozens of steps per row.
MAX_EXPLAIN = 100
BATCH_WAIT_MS = 2.0
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ModelServer:
    """Serves fitted estimators over HTTP, with a JSON API and its OpenAPI page.

    Endpoints:

    - `POST /v1/models/{name}/predict`: labels and class probabilities
      (for a generator: generated text);
    - `POST /v1/models/{name}/explain`: the estimator's `explain` output
      (reason codes for a credit risk model);
    - `GET /v1/models/{name}/metadata`: the metadata saved with the model;
    - `GET /v1/models`, `GET /health`, and the OpenAPI page at `/docs`;
    - `GET /models/{name}`: the model's page for people who do not write
      code (a form from the input schema, a CSV upload, the answer and its
      explanation as a picture; see `core.serving.model_page`), listed at
      `GET /models`.

    Each model's request body is a pydantic class built from the input
    schema saved with it, so a row with an unknown column or a word where a
    number belongs is answered 422, naming the field, before the estimator
    sees it. The estimator's own errors (ValueError, TypeError) are answered
    422 with its message. Bodies over `max_body_bytes` are answered 413
    before they are parsed. Predict requests on tables and texts that arrive
    together share one model call (see `MicroBatcher`), and valid predict
    requests skip FastAPI's per-request machinery (see `FastPredictPath`).

    Model calls run in a worker thread, one at a time (TensorFlow spreads a
    call over its own threads; `keras-domains serve --threads` sets how
    many). Explanations and generation run in a second thread, so a slow one
    never holds up predictions.

    Args:
        models: `{name: estimator}`, fitted estimators to serve; a name is
            letters, digits, `_`, `.` and `-`, starting with a letter or digit.
        max_body_bytes: largest request body, in bytes.
        max_batch: most rows (texts, images) per predict request and per micro-batch.
        batch_wait_ms: longest a predict request waits for others to share
            its model call; 0 turns micro-batching off.
        image_paths: whether image columns of table rows may name files on
            the server's machine; otherwise images are sent as base64.

    Attributes:
        app: the FastAPI application (an ASGI app, e.g. for `TestClient`).
        models: `{name: ServedModel}`.

    Example:
    >>> server = ModelServer({"diagnosis": DiagnosisPredictor.load("model.kdm")})
    >>> server.run(host="127.0.0.1", port=8000)
    """

    def __init__(
        self,
        models,
        max_body_bytes=MAX_BODY_BYTES,
        max_batch=MAX_BATCH,
        batch_wait_ms=BATCH_WAIT_MS,
        image_paths=False,
    ):
        _check_positive_int("max_body_bytes", max_body_bytes)
        _check_positive_int("max_batch", max_batch)
        if isinstance(batch_wait_ms, bool) or not (
            isinstance(batch_wait_ms, int | float) and 0 <= batch_wait_ms <= 1000
        ):
            raise ValueError(
                f"`batch_wait_ms` must be a number in [0, 1000]. Received: {batch_wait_ms!r}"
            )
        if not isinstance(models, dict) or not models:
            raise ValueError(
                "`models` must be a non-empty dict {name: estimator}. "
                f"Received: {type(models).__name__}"
            )
        for name in models:
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(
                    "A model name must be letters, digits, '_', '.' and '-', starting with a "
                    f"letter or digit (it is part of the URL). Received: {name!r}"
                )
        self.max_body_bytes = max_body_bytes
        self.max_batch = max_batch
        self.batch_wait_ms = float(batch_wait_ms)
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "keras-domains-predict")
        self._slow_executor = concurrent.futures.ThreadPoolExecutor(1, "keras-domains-explain")
        titles = set()
        self.models = {
            name: ServedModel(
                name,
                estimator,
                title_prefix(name, titles),
                self._executor,
                self._slow_executor,
                max_batch=max_batch,
                max_explain=min(max_batch, MAX_EXPLAIN),
                batch_wait_s=self.batch_wait_ms / 1000.0,
                image_paths=image_paths,
            )
            for name, estimator in models.items()
        }
        self.app = self._build_app()

    def run(self, host="127.0.0.1", port=8000, log_level="warning"):
        """Serves until interrupted (Ctrl-C or SIGTERM), then shuts down cleanly.

        Args:
            host: interface to listen on; the default, loopback, is reachable
                from this machine only.
            port: TCP port.
            log_level: uvicorn's log level; "info" also logs every request.
        """
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=log_level in ("debug", "trace", "info"),
        )
        try:
            uvicorn.Server(config).run()
        finally:
            self.close()

    def close(self):
        """Stops the worker threads (after the model calls in progress)."""
        self._executor.shutdown(wait=True)
        self._slow_executor.shutdown(wait=True)

    # ------------------------------------------------------------------ app
    @contextlib.asynccontextmanager
    async def _lifespan(self, app):
        for served in self.models.values():
            await served.start()
        # TensorFlow and the models are hundreds of thousands of long-lived objects; a full
        # garbage collection walks them all and stalls every request for 100+ ms. Frozen
        # objects are left out of collections (they are never garbage).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for served in self.models.values():
                await served.stop()

    def _build_app(self):
        app = FastAPI(
            title="keras-domains model server",
            description="Predictions and explanations of saved keras-domains models.",
            lifespan=self._lifespan,
        )
        # The last added runs first: the size limit, then the fast path of valid predictions.
        app.add_middleware(FastPredictPath, models=self.models, answer=_answer)
        app.add_middleware(BodySizeLimit, max_bytes=self.max_body_bytes)
        app.add_exception_handler(RequestValidationError, _invalid_request)

        @app.get("/health", tags=["server"])
        async def health():
            return {"status": "ok", "models": list(self.models)}

        @app.get("/v1/models", response_model=ModelList, tags=["server"])
        async def list_models():
            return {"models": [served.info() for served in self.models.values()]}

        for served in self.models.values():
            self._add_model_routes(app, served)
        self._add_pages(app)

        @app.get("/v1/models/{name}", response_model=ModelInfo, tags=["server"])
        async def model_info(name: str):
            return self._served(name).info()

        @app.api_route(
            "/v1/models/{name}/{action}", methods=["GET", "POST"], include_in_schema=False
        )
        async def unknown_action(name: str, action: str):
            served = self._served(name)
            actions = [path.rsplit("/", 1)[1] for path in served.info()["endpoints"]]
            raise HTTPException(
                404,
                f"Model {name!r} ({served.task}) has no {action!r} endpoint; its endpoints "
                f"are {', '.join(actions)}.",
            )

        return app

    def _add_model_routes(self, app, served):
        """Routes of one model, each typed with that model's own request class."""
        base = f"/v1/models/{served.name}"
        tags = [served.name]

        response = PredictResponse
        if served.kind == "generation":
            response = GenerateResponse
        elif served.regressor:
            response = RegressionResponse
        elif served.survival:
            response = SurvivalResponse
        summary = "Generate text" if served.kind == "generation" else "Predict"
        posts = [("predict", served.predict, served.predict_model, response, summary)]
        if served.explain_model is not None:
            posts.append(
                ("explain", served.explain, served.explain_model, ExplainResponse, "Explain")
            )
        for action, answer, request_model, response_model, summary in posts:
            app.add_api_route(
                f"{base}/{action}",
                _post_endpoint(answer, request_model),
                methods=["POST"],
                response_model=response_model,
                tags=tags,
                summary=f"{summary} ({served.task})",
                operation_id=f"{action}_{served.name}",
            )

        async def metadata():
            return served.metadata

        app.add_api_route(
            f"{base}/metadata",
            metadata,
            methods=["GET"],
            tags=tags,
            summary="The metadata saved with the model",
            operation_id=f"metadata_{served.name}",
        )

    def _add_pages(self, app):
        """The HTML pages: the list of models at `/models`, one page per model, their assets."""
        assets = read_assets()
        max_explain = min(self.max_batch, MAX_EXPLAIN)

        @app.get("/", include_in_schema=False)
        async def root():
            return RedirectResponse("/models")

        @app.get("/models", include_in_schema=False)
        async def pages():
            return HTMLResponse(index_page(self.models))

        @app.get("/models/{name}", include_in_schema=False)
        async def page(name: str):
            served = self.models.get(name)
            if served is None:
                message = f"Unknown model {name!r}. Known models: {', '.join(self.models)}."
                return HTMLResponse(f"<p>{html.escape(message)}</p>", 404)
            return HTMLResponse(model_page(served, max_explain))

        @app.get("/static/{asset}", include_in_schema=False)
        async def static(asset: str):
            if asset not in assets:
                raise HTTPException(404, f"No file {asset!r}.")
            content, media_type = assets[asset]
            return Response(content, media_type=media_type)

    def _served(self, name):
        served = self.models.get(name)
        if served is None:
            raise HTTPException(
                404, f"Unknown model {name!r}. Known models: {', '.join(self.models)}."
            )
        return served


def _post_endpoint(answer, request_model):
    """A POST endpoint whose body FastAPI reads (and documents) as `request_model`.

    Args:
        answer: `body -> awaitable result` (the served model's predict or explain).
        request_model: the model's own pydantic request class.

    Returns:
        The endpoint coroutine function.
    """

    async def endpoint(body: request_model):
        return _response(*await _answer(answer(body)))

    return endpoint


async def _answer(pending):
    """`(status, JSON bytes)` of a predict or explain call; the estimator's input errors are 422.

    Serialized here, not by FastAPI, whose encoder walks every value first.
    """
    try:
        content = await pending
    except (ValueError, TypeError) as error:
        message = str(error).strip() or type(error).__name__
        return 422, json.dumps({"detail": message}).encode()
    return 200, json.dumps(content, allow_nan=False).encode()


def _response(status, content):
    return Response(content, status, media_type="application/json")


async def _invalid_request(request, error):
    """422 naming each bad field, without echoing the input (which may be large, or infinite)."""
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and "json" not in content_type:
        # FastAPI reads other bodies as raw bytes, which fail with an obscure message.
        detail = (
            "Send the request body as JSON, with the header Content-Type: application/json. "
            f"Received Content-Type: {content_type or 'none'}."
        )
        return Response(json.dumps({"detail": detail}), 415, media_type="application/json")
    errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in error.errors()]
    return Response(json.dumps({"detail": errors}, default=str), 422, media_type="application/json")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
