"""Per-model pydantic request bodies, built from the input schema saved with the model.

Each served model gets its own request classes, so that FastAPI validates a
body against that model's real columns and `/docs` shows them. Column names
are JSON aliases of generated field names (`c0`, `c1`, ...), so any column
name works, including ones that are not Python identifiers or that clash
with pydantic's own attributes.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

#: The input kinds a served model can take: the estimator's declared `input_kind`.
INPUT_KINDS = ("table", "transactions", "events", "images", "texts", "generation")
#: The explanations served for each input kind (the estimator's declared
#: `explanation_kind`); None: the model has no explain endpoint.
EXPLANATION_KINDS = {
    "table": ("columns", "reason_codes", None),
    "transactions": ("columns", None),
    "events": ("events", None),
    "images": ("heat_map", None),
    "texts": ("tokens", None),
    "generation": (None,),
}
#: Most tokens one generation request may ask for.
MAX_NEW_TOKENS = 1024
#: Known categories listed in a column's description, at most.
_SHOWN_CATEGORIES = 12
#: What a texts or images request sends, by input kind.
_ITEMS = {
    "texts": "texts to classify",
    "images": "images: base64 of PNG, JPEG, BMP or GIF files, or of .npy arrays",
}

# Rows of a table: unknown columns are an error; a number where a category is expected is
# read as its text, which is how the model reads it too (an unknown category at worst).
_ROW_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
_BODY_CONFIG = ConfigDict(extra="forbid")

Number = Annotated[float, Field(allow_inf_nan=False)]


def input_kind(estimator):
    """The kind of input a model takes, as its class declares it (`input_kind`).

    Args:
        estimator: a keras-domains estimator.

    Returns:
        One of `INPUT_KINDS`.

    Raises:
        ValueError: naming the estimator's class, when it declares no input
            kind or one the server does not take.
    """
    kind = getattr(estimator, "input_kind", None)
    if kind not in INPUT_KINDS:
        raise ValueError(
            f"{type(estimator).__name__} cannot be served: its `input_kind` is {kind!r}; the "
            f"server takes estimators that declare one of {', '.join(INPUT_KINDS)}."
        )
    return kind


def explanation_kind(estimator, kind):
    """What a model's `explain` attributes to, as its class declares it (`explanation_kind`).

    Args:
        estimator: a keras-domains estimator.
        kind: its input kind (see `input_kind`).

    Returns:
        One of `EXPLANATION_KINDS[kind]`; None when the model is served
        without an explain endpoint.

    Raises:
        ValueError: naming the estimator's class, for an explanation kind the
            server does not serve for that input kind.
    """
    explains = getattr(estimator, "explanation_kind", None)
    if explains not in EXPLANATION_KINDS[kind]:
        served = ", ".join(repr(e) for e in EXPLANATION_KINDS[kind])
        raise ValueError(
            f"{type(estimator).__name__} cannot be served: its `explanation_kind` is "
            f"{explains!r}; for input kind {kind!r} the server serves {served}."
        )
    return explains


def request_models(title, kind, schema, estimator, max_batch, max_explain):
    """Builds the request bodies of one served model.

    Args:
        title: unique CamelCase prefix of the classes' names (they name the
            schemas in `/docs`).
        kind: the model's input kind (see `input_kind`).
        schema: the model's `input_schema` metadata.
        estimator: the loaded estimator.
        max_batch: most rows (texts, images) in a predict request.
        max_explain: most rows in an explain request.

    Returns:
        `(predict_model, explain_model, row_model)`; `explain_model` is None
        for a model without explanations (`explanation_kind` None),
        `row_model` (one row of `rows`) is None for texts, images and
        generators.
    """
    if kind == "generation":
        return _generation_request(title), None, None
    explains = explanation_kind(estimator, kind)
    options = _explain_options(explains, schema)
    sets = _label_set_option(kind, estimator)
    if kind in ("images", "texts"):
        predict = _body(f"{title}PredictRequest", kind, str, _ITEMS[kind], max_batch, **sets)
        explain = _body(f"{title}ExplainRequest", kind, str, _ITEMS[kind], max_explain, **options)
        return predict, None if explains is None else explain, None
    row = _row_model(f"{title}Row", kind, schema, estimator)
    context = {}
    if kind == "transactions":
        context["history"] = (
            list[row] | None,
            Field(
                None,
                max_length=max_batch,
                description="earlier transactions of the same accounts, read as context only",
            ),
        )
    elif kind == "events":
        context["prediction_time"] = (
            str | float | None,
            Field(None, description="only events at or before this time are read"),
        )
    example = example_row(kind, schema, estimator)
    predict = _body(
        f"{title}PredictRequest", "rows", row, "rows to score", max_batch, example,
        **context, **sets,
    )  # fmt: skip
    fields = {**context, **options}
    explain = _body(
        f"{title}ExplainRequest", "rows", row, "rows to explain", max_explain, example, **fields
    )
    return predict, None if explains is None else explain, row


def has_label_sets(estimator):
    """Whether a classifier gives conformal label sets (one label per row, held-out rows kept)."""
    return (
        hasattr(estimator, "predict_set")
        and getattr(estimator, "target_type_", None) in ("binary", "multiclass")
        and getattr(estimator, "conformal_scores_", None) is not None
    )


def _label_set_option(kind, estimator):
    """The predict request's `alpha`, for classifiers of tables, texts and images with sets."""
    if kind not in ("table", "texts", "images") or not has_label_sets(estimator):
        return {}
    description = (
        "miss rate of the conformal label set returned with each prediction (0.1: the set "
        "holds the true label for 90% of rows like the held-out ones); null: no set"
    )
    return {"alpha": (float | None, Field(None, gt=0, lt=1, description=description))}


def _explain_options(explains, schema):
    """The options of an explain request, by what the explanation attributes to."""
    if explains == "tokens":
        level = Literal["word", "subword"]
        return {"level": (level, Field("word", description="'word' or 'subword' tokens"))}
    if explains == "events":
        level = Literal["code", "visit"]
        return {"level": (level, Field("code", description="'code' or 'visit'"))}
    if explains == "reason_codes":
        return {"n_reasons": (int, Field(4, ge=1, le=len(schema), description="reasons per row"))}
    return {}


def _body(name, field, item, description, max_items, example=None, **extra):
    fields = {
        field: (list[item], Field(..., min_length=1, max_length=max_items, description=description))
    }
    fields.update(extra)
    config = _BODY_CONFIG
    if example is not None:
        config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{field: [example]}]})
    return create_model(name, __config__=config, **fields)


def _row_model(name, kind, schema, estimator):
    """One row of a table, transactions or events request, one aliased field per column."""
    columns = _columns(kind, schema, estimator)
    fields = {
        f"c{i}": (annotation, Field(default, alias=column, description=description))
        for i, (column, annotation, default, description) in enumerate(columns)
    }
    return create_model(name, __config__=_ROW_CONFIG, **fields)


def row_columns(row_model):
    """`[(field name, column name)]` of a row model, in column order."""
    return [(name, info.alias) for name, info in row_model.model_fields.items()]


def _columns(kind, schema, estimator):
    """`(column, annotation, default, description)` per input column."""
    if kind == "table":
        columns = [_feature_column(item) for item in schema]
        for column in getattr(estimator, "excluded_columns_", None) or []:
            columns.append(
                (column, str | float | bool | None, None, "ignored: excluded from the model")
            )
        return columns
    if kind == "transactions":
        account, time = schema["account_column"], schema["time_column"]
        features = {item["name"]: item for item in schema["features"]}
        columns = []
        for column in estimator.feature_names_in_:
            column = str(column)
            if column == account:
                columns.append((column, int | str, ..., "account id"))
            elif column == time:
                columns.append((column, str | float, ..., "ISO 8601 time, or seconds since 1970"))
            elif column in features:
                columns.append(_feature_column(features[column]))
            else:
                columns.append((column, str | float | bool | None, None, "input column"))
        return columns
    if kind == "events":
        events = schema["events"]
        columns = [
            (events["patient_column"], int | str, ..., "patient id"),
            (events["time_column"], str | float, ..., "date (ISO 8601), or a number of days"),
            (events["code_column"], str, ..., "diagnosis, procedure, drug or lab code"),
        ]
        if events.get("value_column"):
            columns.append(
                (events["value_column"], Number | None, None, "lab value; null for other codes")
            )
        return columns
    raise ValueError(f"No row model for input kind {kind!r}.")


def _feature_column(item):
    name = item["name"]
    if item["kind"] == "numeric":
        return name, Number | None, None, "number; null or left out when missing"
    if item["kind"] == "text":
        return name, str | None, None, "free text; null, empty or left out when missing"
    if item["kind"] == "image":
        return (
            name,
            str | None,
            None,
            "image: a base64 PNG, JPEG, BMP or GIF file (or a data URL); a file path when the "
            "server was started with --image-paths; null or left out when missing",
        )
    categories = [str(c) for c in item.get("categories", [])]
    shown = ", ".join(categories[:_SHOWN_CATEGORIES])
    if len(categories) > _SHOWN_CATEGORIES:
        shown += f", ... ({len(categories) - _SHOWN_CATEGORIES} more)"
    description = f"category (known: {shown}; others count as unknown); null when missing"
    # A boolean column was learnt as the categories "False" and "True"; JSON true reads as that.
    annotation = str | bool | None if {"True", "False"} & set(categories) else str | None
    return name, annotation, None, description


def example_row(kind, schema, estimator):
    """A typical row for `/docs` (medians, most frequent categories), for tables only."""
    if kind != "table":
        return None
    preprocessor = estimator.preprocessor_
    medians = dict(zip(preprocessor.numeric_columns_, preprocessor.medians_, strict=True))
    example = {}
    for item in schema:
        if item["kind"] == "numeric":
            example[item["name"]] = round(medians.get(item["name"], 0.0), 4)
        elif item["kind"] in ("text", "image"):
            example[item["name"]] = None
        else:
            categories = item.get("categories") or [None]
            example[item["name"]] = categories[0]
    return example


def _generation_request(title):
    return create_model(
        f"{title}GenerateRequest",
        __config__=_BODY_CONFIG,
        prompt=(str, Field("", description="text to continue (may be empty)")),
        max_new_tokens=(int, Field(50, ge=1, le=MAX_NEW_TOKENS)),
        min_new_tokens=(int, Field(0, ge=0, le=MAX_NEW_TOKENS)),
        greedy=(bool, Field(False, description="always take the most likely token")),
        temperature=(float, Field(1.0, gt=0, allow_inf_nan=False)),
        top_k=(int | None, Field(None, ge=1)),
        top_p=(float, Field(1.0, gt=0, le=1)),
        repetition_penalty=(float, Field(1.0, ge=1, allow_inf_nan=False)),
        stop=(list[str] | None, Field(None, description="stop strings")),
        seed=(int | None, Field(None, description="seed for reproducible sampling")),
    )


def title_prefix(name, taken):
    """A CamelCase prefix for a model's class names, unique among `taken` (which it joins)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    prefix = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    if prefix[0].isdigit():
        prefix = f"Model{prefix}"
    unique, k = prefix, 2
    while unique in taken:
        unique, k = f"{prefix}{k}", k + 1
    taken.add(unique)
    return unique


class ModelInfo(BaseModel):
    """A served model, as `GET /v1/models` lists it."""

    name: str
    task: str | None
    input: str = Field(description=f"input kind: one of {', '.join(INPUT_KINDS)}")
    classes: list[Any] | None
    endpoints: list[str]
    stats: dict[str, int] = Field(
        description="predict requests and rows answered, and the model calls they took"
    )


class ModelList(BaseModel):
    """The body of `GET /v1/models`."""

    models: list[ModelInfo]


class Prediction(BaseModel):
    """One row's (or, for events, one patient's) prediction."""

    model_config = ConfigDict(extra="allow")

    label: Any = Field(description="the predicted class (0/1 per label for multilabel models)")
    probabilities: dict[str, float] = Field(description="probability of each class, by label")
    points: float | None = Field(None, description="scorecard points (credit risk models)")
    label_set: list[Any] | None = Field(
        None,
        description="the conformal label set, when the request sent `alpha`: the classes "
        "that cannot be ruled out at that miss rate",
    )


class ValuePrediction(BaseModel):
    """One row's predicted number(s), from a regressor."""

    value: float | dict[str, float] = Field(
        description="the prediction; by target name when the model has several targets"
    )
    interval: list[float] | dict[str, list[float]] | None = Field(
        None,
        description="the 90% conformal prediction interval [low, high] (by target name for "
        "several targets); null when the model kept no held-out rows",
    )


class RegressionResponse(BaseModel):
    """The body of a regressor's predict response."""

    model: str
    task: str | None
    predictions: list[ValuePrediction]


class SurvivalPrediction(BaseModel):
    """One row's survival prediction."""

    risk: float = Field(description="risk score: higher means the event is expected sooner")
    median_time: float | None = Field(
        description="time at which the survival curve falls to 0.5; null where it never does"
    )
    survival: dict[str, float] = Field(
        description="probability of being event-free at each time of the model's time grid"
    )


class SurvivalResponse(BaseModel):
    """The body of a survival model's predict response."""

    model: str
    task: str | None
    predictions: list[SurvivalPrediction]


class PredictResponse(BaseModel):
    """The body of a predict response."""

    model: str
    task: str | None
    predictions: list[Prediction]


class ExplainResponse(BaseModel):
    """The body of an explain response: the estimator's `explain` output as JSON."""

    model_config = ConfigDict(extra="allow")

    model: str
    task: str | None
    explanations: list[Any]


class GenerateResponse(BaseModel):
    """The body of a generator's predict response."""

    model: str
    task: str | None
    text: str
