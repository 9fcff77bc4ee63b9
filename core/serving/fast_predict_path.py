"""An ASGI middleware that answers valid predict requests without FastAPI's per-request work."""

from pydantic import ValidationError

from core.serving.body_size_limit import replay_body, send_json


class FastPredictPath:
    """Answers valid predict requests directly; hands everything else to the application.

    FastAPI's routing, dependency solving and exception layers cost more per
    request than a micro-batched one-row prediction, and under many small
    concurrent requests the event loop spends most of its time there. For a
    `POST /v1/models/{name}/predict` with a JSON body, this parses and
    validates the body with the model's own request class in one step
    (`model_validate_json`), answers it, and is done. A body that does not
    validate is passed on, untouched, to the FastAPI route of the same path,
    which answers as it always does (422 naming the field). `/docs`
    documents the FastAPI routes.

    Args:
        app: the FastAPI application.
        models: `{name: ServedModel}`.
        answer: coroutine function `answer(pending) -> (status, body bytes)`
            turning a pending `ServedModel.predict` into the response; the
            FastAPI routes use the same one.
    """

    def __init__(self, app, models, answer):
        self.app = app
        self.routes = {f"/v1/models/{name}/predict": served for name, served in models.items()}
        self.answer = answer

    async def __call__(self, scope, receive, send):
        served = None
        if scope["type"] == "http" and scope["method"] == "POST":
            served = self.routes.get(scope["path"])
        if served is None or not _json_content(scope):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            request = served.predict_model.model_validate_json(body)
        except ValidationError:
            await self.app(scope, replay_body(body, receive), send)
            return
        status, content = await self.answer(served.predict(request))
        await send_json(send, status, content)


def _json_content(scope):
    """Whether the Content-Type is JSON (`application/json` or `application/*+json`)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type = value.split(b";", 1)[0].strip().lower()
            return media_type == b"application/json" or (
                media_type.startswith(b"application/") and media_type.endswith(b"+json")
            )
    return False
