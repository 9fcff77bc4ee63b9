"""An ASGI middleware that refuses request bodies over a size limit before they are parsed."""

import json

# A body over the limit is still read, and thrown away, up to this many times the limit
# before the answer: a client that is still sending when the server closes the connection
# gets a reset instead of the 413. Bodies larger still are refused at once.
_DRAIN_FACTOR = 4
_METHODS_WITH_BODY = ("POST", "PUT", "PATCH")


class BodySizeLimit:
    """Answers 413 when a request body is larger than `max_bytes`.

    The declared `Content-Length` is checked first; then the body is counted
    as it streams in, so a chunked body (no length) or one whose length lies
    is stopped at the limit too. The body is held in memory (at most
    `max_bytes` of it) and handed to the application only when complete, so
    nothing downstream ever parses an oversized body.

    Args:
        app: the ASGI application to protect.
        max_bytes: largest accepted body, in bytes.
    """

    def __init__(self, app, max_bytes):
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"`max_bytes` must be a positive integer. Received: {max_bytes!r}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == "invalid":
            await _refuse(send, 400, "The Content-Length header is not a non-negative integer.")
            return
        if declared is not None and declared > _DRAIN_FACTOR * self.max_bytes:
            await self._too_large(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size <= self.max_bytes:
                chunks.append(body)
            elif size > _DRAIN_FACTOR * self.max_bytes:
                break
            if not message.get("more_body", False):
                break
        if size > self.max_bytes:
            await self._too_large(send)
            return
        await self.app(scope, replay_body(b"".join(chunks), receive), send)

    async def _too_large(self, send):
        await _refuse(
            send,
            413,
            f"The request body is larger than the server's limit of {self.max_bytes} bytes "
            "(--max-body-bytes); send fewer rows per request.",
        )


def _content_length(scope):
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else "invalid"
    return None


def replay_body(body, receive):
    """A `receive` that gives the buffered body once, then defers to the real one."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(send, status, detail):
    content = json.dumps({"detail": detail}).encode()
    await send_json(send, status, content, close=True)


async def send_json(send, status, content, close=False):
    """Sends a whole JSON response through an ASGI `send`.

    Args:
        send: the ASGI send callable.
        status: HTTP status code.
        content: the JSON body, as bytes.
        close: ask the client to close the connection (after a refused body).
    """
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
