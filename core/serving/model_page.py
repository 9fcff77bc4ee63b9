"""The page of a served model, for people who read predictions but do not write code.

`GET /models/{name}` answers one HTML page: a form built from the model's
input schema (numbers, categories as drop-downs of the training vocabulary,
text areas, image uploads), a CSV upload for many rows, and the answer with
its explanation drawn as a picture. The page is plain HTML, CSS and
JavaScript shipped in `core/serving/page/`; its script calls the model's
JSON endpoints, so the page shows exactly what the API answers, validation
errors included. Nothing is fetched from the network.
"""

import html
import json
from pathlib import Path

import numpy as np

from core.calibration import conformal_threshold
from core.serving.request_schema import example_row, has_label_sets

PAGE_FOLDER = Path(__file__).with_name("page")
#: The page's static files, by the name they are served under (`/static/{name}`).
ASSET_TYPES = {
    "model_page.css": "text/css; charset=utf-8",
    "model_page.js": "text/javascript; charset=utf-8",
}
#: Miss rate of the conformal label sets the page asks for (90% coverage).
PAGE_ALPHA = 0.1
#: Beyond this many known categories a column gets a text box with suggestions, not a list.
MAX_DROP_DOWN = 200


def read_assets():
    """`{name: (bytes, media type)}` of the page's CSS and JavaScript files."""
    return {
        name: ((PAGE_FOLDER / name).read_bytes(), media_type)
        for name, media_type in ASSET_TYPES.items()
    }


def model_page(served, max_explain):
    """The HTML page of one served model.

    Args:
        served: the `ServedModel`.
        max_explain: most rows of one explain request.

    Returns:
        The page, as a string.
    """
    config = page_config(served, max_explain)
    title = f"{served.name} ({served.task})" if served.task else served.name
    return _fill(
        "model_page.html",
        title=html.escape(title),
        config=_script_json(config),
    )


def index_page(models):
    """The HTML list of served models, each linking to its page.

    Args:
        models: `{name: ServedModel}`.
    """
    items = "\n".join(
        f'<li><a href="/models/{html.escape(name)}">{html.escape(name)}</a> '
        f'<span class="muted">{html.escape(str(served.task or served.kind))}</span></li>'
        for name, served in models.items()
    )
    return _fill("index.html", items=items)


def page_config(served, max_explain):
    """What the page's script needs to build the form and read the answers, as JSON values.

    Args:
        served: the `ServedModel`.
        max_explain: most rows of one explain request.

    Returns:
        dict: the model's name, task, input kind, explanation kind, classes,
        whether it gives label sets, its input columns with their default
        values, and its endpoint URLs.
    """
    estimator = served.estimator
    base = f"/v1/models/{served.name}"
    classes = served.classes
    config = {
        "name": served.name,
        "task": served.task,
        "estimator": type(estimator).__name__,
        "kind": served.kind,
        "explains": served.explains,
        "classes": classes,
        # The class a binary model's probability and explanations are about.
        "positive": classes[1] if classes is not None and len(classes) == 2 else None,
        "multilabel": classes is not None and estimator.target_type_ == "multilabel-indicator",
        "regressor": served.regressor,
        "survival": served.survival,
        "calibration": getattr(estimator, "calibration", None) if classes is not None else None,
        "alpha": _page_alpha(served),
        "max_batch": served.max_batch,
        "max_explain": max_explain,
        "urls": {
            "predict": f"{base}/predict",
            "explain": f"{base}/explain" if served.explain_model is not None else None,
            "metadata": f"{base}/metadata",
        },
        "columns": _form_columns(served),
        "numeric_columns": served.numeric_columns,
    }
    if served.regressor:
        config["target_names"] = [str(t) for t in estimator.target_names_]
    if served.survival:  # The time `explain` attributes the event's probability at.
        config["horizon"] = float(np.median(estimator.time_grid_))
    return config


# Input kinds the page builds a one-case form for; the others take a CSV of rows.
_FORM_KINDS = ("table", "texts", "images")


def _page_alpha(served):
    """`PAGE_ALPHA` when the model gives label sets at that miss rate, else None (no sets)."""
    estimator = served.estimator
    if served.kind not in _FORM_KINDS or not has_label_sets(estimator):
        return None
    try:
        conformal_threshold(estimator.conformal_scores_, PAGE_ALPHA)
    except ValueError:  # Too few held-out rows for a finite set at this miss rate.
        return None
    return PAGE_ALPHA


def _form_columns(served):
    """The form's fields: `{"name", "kind", "value", "categories"?}` per input column."""
    schema = served.schema
    if served.kind == "texts":
        return [{"name": "text", "kind": "text", "value": ""}]
    if served.kind == "images":
        return [{"name": "image", "kind": "image", "value": None}]
    if served.kind != "table":
        return []
    example = example_row("table", schema, served.estimator)
    columns = []
    for item in schema:
        column = {"name": item["name"], "kind": item["kind"], "value": example[item["name"]]}
        if item["kind"] == "categorical":
            categories = [str(c) for c in item.get("categories", [])]
            column["categories"] = categories
            column["drop_down"] = len(categories) <= MAX_DROP_DOWN
        columns.append(column)
    return columns


def _script_json(value):
    """JSON safe inside a `<script>` element (no `</script>`, no HTML comment openers)."""
    text = json.dumps(value, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fill(template, **values):
    """The template with each `{{key}}` replaced by its value."""
    text = (PAGE_FOLDER / template).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text
