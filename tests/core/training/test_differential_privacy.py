"""DP-SGD: the accountant's epsilon, and what a membership-inference attack learns."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.estimators import TabularClassifier
from core.training import WEAK_PRIVACY_EPSILON, DifferentialPrivacy, WeakPrivacyWarning


def test_epsilon_matches_the_rdp_accountant_of_dp_accounting():
    import dp_accounting
    from dp_accounting import rdp

    privacy = DifferentialPrivacy({"l2_norm_clip": 1.0, "noise_multiplier": 1.1, "delta": 1e-5})
    accountant = rdp.RdpAccountant()
    accountant.compose(
        dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(1.1)), 1000
        )
    )
    assert privacy.epsilon(0.01, 1000) == pytest.approx(accountant.get_epsilon(1e-5))
    # More steps spend more privacy; more noise spends less.
    assert privacy.epsilon(0.01, 2000) > privacy.epsilon(0.01, 1000)


def test_target_epsilon_solves_for_the_noise():
    privacy = DifferentialPrivacy({"l2_norm_clip": 1.0, "target_epsilon": 2.0, "delta": 1e-5})
    noise = privacy.solve_noise(0.02, 500)
    assert 0.3 < noise < 10
    assert privacy.epsilon(0.02, 500) == pytest.approx(2.0, abs=0.02)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"noise_multiplier": 1.0}, "l2_norm_clip"),
        ({"l2_norm_clip": -1.0, "noise_multiplier": 1.0}, "positive number"),
        ({"l2_norm_clip": 1.0}, "exactly one of"),
        ({"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "target_epsilon": 1.0}, "exactly one"),
        ({"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "delta": 2.0}, "delta"),
        ({"l2_norm_clip": 1.0, "noise_multiplier": 1.0, "sigma": 1.0}, "unknown keys"),
        ("strong", "must be None or a dict"),
    ],
)
def test_bad_privacy_settings_are_refused_before_training(options, message):
    with pytest.raises(ValueError, match=message):
        TabularClassifier(privacy=options).fit([[0.0], [1.0]], [0, 1])


def test_privacy_with_calibration_is_refused():
    with pytest.raises(ValueError, match="calibration=None"):
        TabularClassifier(
            privacy={"l2_norm_clip": 1.0, "noise_multiplier": 1.0}, calibration="temperature"
        ).fit([[0.0], [1.0]], [0, 1])


def _attack_auc(model, members, non_members):
    """AUC of the loss-threshold attack: a low loss says "was in the training set"."""
    losses = []
    for X, y in (members, non_members):
        proba = model.predict_proba(X)[np.arange(len(y)), y]
        losses.append(-np.log(np.clip(proba, 1e-12, None)))
    truth = np.r_[np.ones(len(losses[0])), np.zeros(len(losses[1]))]
    return roc_auc_score(truth, -np.concatenate(losses))


def test_dp_sgd_defeats_a_membership_inference_attack(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 10)).astype(np.float32)
    # Mostly label noise: a free model memorises its training labels.
    y = ((X[:, 0] + rng.normal(scale=3.0, size=400)) > 0).astype(int)
    members, non_members = (X[:200], y[:200]), (X[200:], y[200:])
    options = {
        "n_members": 1,
        "hidden_units": (128, 128),
        "dropout": 0.0,
        "weight_decay": 0.0,
        "learning_rate": 3e-3,
        "batch_size": 25,
        "max_epochs": 80,
        "validation_fraction": 0.0,
        "random_state": 0,
    }
    free = TabularClassifier(**options).fit(*members)
    # Epsilon 10.7 is just past the weak-guarantee line: the warning says so.
    with pytest.warns(WeakPrivacyWarning, match="epsilon=10.7"):
        private = TabularClassifier(
            privacy={"l2_norm_clip": 1.0, "noise_multiplier": 1.5, "delta": 1e-3}, **options
        ).fit(*members)
    free_auc = _attack_auc(free, members, non_members)
    private_auc = _attack_auc(private, members, non_members)
    assert free_auc > 0.75
    assert abs(private_auc - 0.5) < 0.08
    assert private_auc < free_auc - 0.15

    spent = private.privacy_spent_
    assert spent["steps"] == 80 * 8 and spent["noise_multiplier"] == 1.5
    assert 0 < spent["epsilon"] < 30
    # The model file carries the epsilon.
    path = private.save(tmp_path / "private.kdm")
    loaded = TabularClassifier.load(path)
    assert loaded.metadata_["privacy"]["epsilon"] == pytest.approx(spent["epsilon"])
    assert loaded.privacy_spent_ == spent


@pytest.mark.parametrize("noise, weak", [(0.3, True), (8.0, False)])
def test_a_large_spent_epsilon_is_warned_about(noise, weak, recwarn):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = TabularClassifier(
        n_members=1,
        hidden_units=(8,),
        batch_size=16,
        max_epochs=3,
        validation_fraction=0.0,
        privacy={"l2_norm_clip": 1.0, "noise_multiplier": noise, "delta": 1e-3},
        random_state=0,
    ).fit(X, y)
    warned = [w for w in recwarn if issubclass(w.category, WeakPrivacyWarning)]
    assert (model.privacy_spent_["epsilon"] > WEAK_PRIVACY_EPSILON) == weak
    assert len(warned) == int(weak)
    if weak:
        message = str(warned[0].message)
        assert f"epsilon={model.privacy_spent_['epsilon']:.3g}" in message
        assert "noise_multiplier" in message and "max_epochs" in message
