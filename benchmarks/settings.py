"""`--set key=value` options shared by the benchmark scripts."""

import json

RANDOM_STATE_HINT = {"random_state": "the script's seed options"}


def parse_settings(items, estimator_cls, defaults=None, reserved=None):
    """Estimator parameters from `--set key=value` strings.

    Args:
        items: the `key=value` strings; values are read as JSON when they
            parse (`[128, 64]`, `0.1`, `null`), else as plain strings.
        estimator_cls: the estimator whose parameters are accepted.
        defaults: parameters to start from.
        reserved: `{key: hint}` for parameters the script sets itself.

    Returns:
        dict of parameters.
    """
    reserved = RANDOM_STATE_HINT if reserved is None else reserved
    valid = estimator_cls().get_params()
    params = dict(defaults or {})
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects key=value. Received: {item!r}")
        if key in reserved:
            raise SystemExit(f"--set {key}: use {reserved[key]} instead.")
        if key not in valid:
            allowed = sorted(k for k in valid if k not in reserved)
            raise SystemExit(f"--set: unknown parameter {key!r}; expected one of {allowed}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw  # A bare string such as --set backbone=transformer.
    return params
