"""DP-SGD settings and their privacy accounting (Google's dp-accounting, RDP accountant)."""

import math

INSTALL_HINT = 'pip install "keras-domains[privacy]"'
KEYS = ("l2_norm_clip", "noise_multiplier", "target_epsilon", "delta")


def _accounting():
    try:
        import dp_accounting
        from dp_accounting import rdp
    except ImportError as error:
        raise ImportError(
            "Differentially private training computes its epsilon with the dp-accounting "
            f"library, which is not installed. Install it with: {INSTALL_HINT}"
        ) from error
    return dp_accounting, rdp


class DifferentialPrivacy:
    """The settings of DP-SGD training and the epsilon they spend.

    DP-SGD clips each example's gradient to `l2_norm_clip` in L2 norm, sums
    the clipped gradients of a batch and adds Gaussian noise of standard
    deviation `noise_multiplier * l2_norm_clip`. The privacy spent by
    `steps` such steps, each on a batch that is a fraction `sampling_rate`
    of the training rows, is computed by the RDP accountant of
    `dp-accounting`, treating batches as Poisson samples (the convention of
    TensorFlow Privacy and Opacus for shuffled batches).

    Args:
        options: a dict with `l2_norm_clip` (> 0), `delta` (in (0, 1);
            default 1e-5) and either `noise_multiplier` (> 0) or
            `target_epsilon` (> 0), for which the noise is solved.

    Raises:
        ValueError: if `options` has unknown keys or out-of-range values.
        ImportError: if dp-accounting is not installed.
    """

    def __init__(self, options):
        if not isinstance(options, dict):
            raise ValueError(
                "`privacy` must be None or a dict with keys 'l2_norm_clip', 'delta' and "
                f"'noise_multiplier' or 'target_epsilon'. Received: privacy={options!r}"
            )
        unknown = sorted(set(options) - set(KEYS))
        if unknown:
            raise ValueError(f"`privacy` has unknown keys {unknown}; expected some of {KEYS}.")
        self.l2_norm_clip = _positive(options, "l2_norm_clip", required=True)
        self.delta = float(options.get("delta", 1e-5))
        if not 0.0 < self.delta < 1.0:
            raise ValueError(f"`privacy['delta']` must be in (0, 1). Received: {self.delta!r}")
        self.noise_multiplier = _positive(options, "noise_multiplier")
        self.target_epsilon = _positive(options, "target_epsilon")
        if (self.noise_multiplier is None) == (self.target_epsilon is None):
            raise ValueError(
                "`privacy` needs exactly one of 'noise_multiplier' and 'target_epsilon'. "
                f"Received: {options!r}"
            )
        _accounting()  # Fail before training, not after it.

    def solve_noise(self, sampling_rate, steps):
        """Sets `noise_multiplier` to the smallest noise that keeps `target_epsilon`.

        Args:
            sampling_rate: batch size over training rows.
            steps: the most training steps the run may take.

        Returns:
            The noise multiplier (also stored).
        """
        if self.target_epsilon is None:
            return self.noise_multiplier
        dp_accounting, rdp = _accounting()
        self.noise_multiplier = dp_accounting.calibrate_dp_mechanism(
            rdp.RdpAccountant,
            lambda noise: _event(dp_accounting, noise, sampling_rate, steps),
            self.target_epsilon,
            self.delta,
            dp_accounting.LowerEndpointAndGuess(1e-2, 1.0),
        )
        return self.noise_multiplier

    def epsilon(self, sampling_rate, steps):
        """The epsilon spent by `steps` DP-SGD steps at this noise, at `delta`.

        Args:
            sampling_rate: batch size over training rows.
            steps: training steps taken.

        Returns:
            A float; `inf` when no noise is added.
        """
        dp_accounting, rdp = _accounting()
        if steps == 0:
            return 0.0
        accountant = rdp.RdpAccountant()
        accountant.compose(_event(dp_accounting, self.noise_multiplier, sampling_rate, steps))
        return float(accountant.get_epsilon(self.delta))


def _event(dp_accounting, noise, sampling_rate, steps):
    return dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(
            min(1.0, sampling_rate), dp_accounting.GaussianDpEvent(noise)
        ),
        int(steps),
    )


def _positive(options, key, required=False):
    value = options.get(key)
    if value is None:
        if required:
            raise ValueError(f"`privacy` needs the key {key!r} (a positive number).")
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ValueError(f"`privacy[{key!r}]` must be a positive number. Received: {value!r}")
    return float(value)
