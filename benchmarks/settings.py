"""`--set key=value` options shared by the benchmark scripts."""

from core import parameter_settings

RANDOM_STATE_HINT = {"random_state": "the script's seed options"}


def parse_settings(items, estimator_cls, defaults=None, reserved=None):
    """Estimator parameters from `--set key=value` strings.

    The values are read as the CLI reads them (`core.parameter_settings`):
    a Python literal or JSON (`0.1`, `null`, `[128, 64]`, `128,64`), else a
    plain string; lists become tuples.

    Args:
        items: the `key=value` strings.
        estimator_cls: the estimator whose parameters are accepted.
        defaults: parameters to start from.
        reserved: `{key: hint}` for parameters the script sets itself.

    Returns:
        dict of parameters.

    Raises:
        SystemExit: with the reason, for a bad, unknown or reserved key.
    """
    reserved = RANDOM_STATE_HINT if reserved is None else reserved
    try:
        return parameter_settings.parse_settings(items, estimator_cls, defaults, reserved)
    except ValueError as error:
        raise SystemExit(str(error)) from None
