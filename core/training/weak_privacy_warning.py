"""The warning given when differentially private training spends a large epsilon."""

#: Above this spent epsilon the guarantee is weak: an attacker's odds of telling
#: whether a row was in the training data may grow by e**10, about 22,000 times.
WEAK_PRIVACY_EPSILON = 10.0


class WeakPrivacyWarning(UserWarning):
    """DP-SGD training spent more than `WEAK_PRIVACY_EPSILON`; the guarantee is weak."""
