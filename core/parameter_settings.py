"""Estimator parameters from `param=value` strings: the CLI's and the benchmarks' `--set`."""

import ast
import json


def parse_value(raw, default=None):
    """One `--set` value as a Python value.

    The text is read as a Python literal (`0.1`, `True`, `None`, `(64, 32)`,
    `64,32`, `{0: 1, 1: 5}`), else as JSON (`true`, `null`, `[64, 32]`,
    `{"age": -1}`), else it stays a string (`transformer`, `auto`). A list
    becomes a tuple. Where the parameter's default is a tuple (layer widths
    such as `hidden_units`), a single number becomes a one-element tuple, so
    `hidden_units=64` means `(64,)`.

    Args:
        raw: the text after `=`.
        default: the parameter's default value.

    Returns:
        The parsed value.

    Example:
    >>> parse_value("64,32"), parse_value("[64, 32]"), parse_value("64", default=(64, 32))
    ((64, 32), (64, 32), (64,))
    >>> parse_value("null"), parse_value("True"), parse_value("lstm")
    (None, True, 'lstm')
    """
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            value = raw  # A bare word such as `transformer`.
    if isinstance(value, list):
        value = tuple(value)
    if (
        isinstance(default, tuple)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        value = (value,)
    return value


def parse_settings(settings, estimator_cls, defaults=None, reserved=None):
    """Estimator parameters from `param=value` strings.

    Args:
        settings: the `param=value` strings; each value is read by
            `parse_value`.
        estimator_cls: the estimator class whose parameters are accepted.
        defaults: parameters to start from (a setting overrides them).
        reserved: `{param: hint}` for parameters the caller sets itself;
            setting one fails with "use {hint} instead".

    Returns:
        dict of parameters, for `estimator_cls(**params)` or `set_params`.

    Raises:
        ValueError: for a setting without `=`, an unknown parameter or a
            reserved one.

    Example:
    >>> parse_settings(["hidden_units=64,32", "dropout=0.2"], DiagnosisPredictor)
    {'hidden_units': (64, 32), 'dropout': 0.2}
    """
    reserved = reserved or {}
    valid = estimator_cls().get_params()
    params = dict(defaults or {})
    for setting in settings:
        name, sep, raw = setting.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set expects PARAM=VALUE. Received: {setting!r}")
        if name in reserved:
            raise ValueError(f"--set {name}: use {reserved[name]} instead.")
        if name not in valid:
            allowed = sorted(p for p in valid if p not in reserved)
            raise ValueError(f"--set: unknown parameter {name!r}. Valid parameters: {allowed}.")
        params[name] = parse_value(raw, valid[name])
    return params
