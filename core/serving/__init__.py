"""Serving saved models over HTTP (`keras-domains serve`).

FastAPI, uvicorn and pydantic are optional dependencies (the `serve`
extra). Importing this package without them raises an ImportError that says
how to install them.
"""

INSTALL_HINT = 'pip install "keras-domains[serve]"'

try:
    import fastapi  # noqa: F401
    import pydantic
    import uvicorn  # noqa: F401
except ImportError as error:
    raise ImportError(
        "Serving models over HTTP needs FastAPI, uvicorn and pydantic, which are not all "
        f"installed ({error.name} is missing). Install them with: {INSTALL_HINT}"
    ) from error
if int(pydantic.VERSION.split(".", 1)[0]) < 2:
    raise ImportError(
        f"Serving models over HTTP needs pydantic 2; pydantic {pydantic.VERSION} is installed. "
        f"Install the supported versions with: {INSTALL_HINT}"
    )

from core.serving.micro_batcher import MicroBatcher  # noqa: E402
from core.serving.model_server import ModelServer  # noqa: E402

__all__ = ["INSTALL_HINT", "MicroBatcher", "ModelServer"]
