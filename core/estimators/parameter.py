"""A constructor parameter's check and message, declared once for every task that takes it."""

import itertools
import math
import numbers
import os

import numpy as np


class Parameter:
    """What a constructor parameter accepts, and the error that names it when it does not.

    Tasks keep scikit-learn's explicit `__init__` signatures; the checks live
    here, once, and `KerasEstimator` runs them for every parameter a task
    takes at the start of `fit` (see `SHARED_PARAMETERS` and a task's
    `parameter_checks`).

    Args:
        expected: what is accepted, as the error message says it, e.g.
            "a positive integer".
        accepts: predicate on the value.

    Example:
        >>> Parameter.integer(minimum=1).check("patience", 0)
        Traceback (most recent call last):
        ValueError: `patience` must be a positive integer. Received: patience=0
    """

    def __init__(self, expected, accepts):
        self.expected = expected
        self.accepts = accepts

    def check(self, name, value):
        """Raises a ValueError naming `name` when `value` is not accepted.

        Args:
            name: the parameter's name.
            value: the value given to the constructor.
        """
        if not self.accepts(value):
            raise ValueError(f"`{name}` must be {self.expected}. Received: {name}={value!r}")

    def or_value(self, *values):
        """This parameter, also accepting each of `values` (e.g. "auto" or None).

        Returns:
            A new `Parameter`.
        """
        shown = " or ".join(repr(v) for v in values)
        accepts = self.accepts
        return Parameter(
            f"{shown} or {self.expected}",
            lambda value: any(_same(value, v) for v in values) or accepts(value),
        )

    def or_preset(self):
        """This parameter, also accepting a keras-hub preset: a name, handle or folder.

        Returns:
            A new `Parameter`.
        """
        accepts = self.accepts
        return Parameter(
            f"{self.expected}, or a keras-hub preset (a name, a kaggle:// or hf:// handle, or a "
            "folder)",
            lambda value: accepts(value) or (isinstance(value, str | os.PathLike) and bool(value)),
        )

    @classmethod
    def integer(cls, minimum=1, maximum=None):
        """An integer (not a bool) >= `minimum` (and <= `maximum`, when given)."""
        if maximum is not None:
            text = f"an integer in [{minimum}, {maximum}]"
        else:
            text = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        return cls(
            text,
            lambda v: _is_integer(v) and v >= minimum and (maximum is None or v <= maximum),
        )

    @classmethod
    def number(cls, minimum=None, maximum=None, include_minimum=True, include_maximum=True):
        """A real number (not a bool) in the given, possibly open, interval."""
        low = "-inf" if minimum is None else minimum
        high = "inf" if maximum is None else maximum
        text = (
            f"a number in {'[' if include_minimum and minimum is not None else '('}{low}, "
            f"{high}{']' if include_maximum and maximum is not None else ')'}"
        )

        def accepts(value):
            if not _is_real(value) or value != value:  # NaN fails every bound.
                return False
            if minimum is not None and (
                value < minimum or (value == minimum and not include_minimum)
            ):
                return False
            return maximum is None or (value < maximum or (value == maximum and include_maximum))

        return cls(text, accepts)

    @classmethod
    def finite_number(cls, positive=False):
        """A finite real number (not a bool), optionally > 0."""
        return cls(
            "a positive number" if positive else "a finite number",
            lambda v: _is_real(v) and math.isfinite(v) and (v > 0 or not positive),
        )

    @classmethod
    def choice(cls, options):
        """One of `options` (compared by equality)."""
        options = tuple(options)
        return cls(f"one of {options}", lambda v: any(_same(v, o) for o in options))

    @classmethod
    def boolean(cls):
        """True or False."""
        return cls("True or False", lambda v: isinstance(v, bool | np.bool_))

    @classmethod
    def integers(cls, minimum=1):
        """A non-empty tuple or list of integers >= `minimum` (layer widths)."""
        return cls(
            f"a non-empty tuple of integers >= {minimum}",
            lambda v: (
                isinstance(v, tuple | list)
                and len(v) > 0
                and all(_is_integer(x) and x >= minimum for x in v)
            ),
        )

    @classmethod
    def levels(cls):
        """Two or more probability levels in (0, 1), strictly increasing (quantiles)."""
        return cls(
            "two or more levels in (0, 1) in increasing order, e.g. (0.05, 0.5, 0.95)",
            lambda v: (
                isinstance(v, tuple | list)
                and len(v) >= 2
                and all(_is_real(x) and 0.0 < x < 1.0 for x in v)
                and all(a < b for a, b in itertools.pairwise(v))
            ),
        )


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _same(value, option):
    """Equality that never lets 1 stand for True, nor compares a string with an array."""
    if option is None:
        return value is None
    if isinstance(option, bool) or isinstance(value, bool | np.bool_):
        return value is option or (isinstance(value, np.bool_) and bool(value) is option)
    if isinstance(option, str) or isinstance(value, str):
        return isinstance(value, str) and isinstance(option, str) and value == option
    try:
        return bool(value == option)
    except (TypeError, ValueError):
        return False
