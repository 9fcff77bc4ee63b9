"""The wide-and-deep scheme: the linear path's penalty by cross-validation on the training rows."""

import numpy as np

from domains.nlp import TextClassifier


def _texts(n, noise, seed=0):
    """Texts whose one sentiment word gives the label, flipped for a `noise` share of rows."""
    rng = np.random.default_rng(seed)
    words = {0: ["bad", "awful", "poor"], 1: ["good", "great", "fine"]}
    fillers = ["the", "film", "book", "was", "really", "and", "end", "story", "phone"]
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(2))
        filler = " ".join(rng.choice(fillers, size=6))
        texts.append(f"{filler} {rng.choice(words[label])} {filler}")
        labels.append(label if rng.random() >= noise else 1 - label)
    return texts, np.array(labels)


def _model(**params):
    return TextClassifier(
        vocabulary_size=60,
        embedding_dim=8,
        num_layers=1,
        num_heads=2,
        intermediate_dim=16,
        ngram_buckets=256,
        max_epochs=1,
        random_state=0,
        **params,
    )


def test_clean_labels_get_the_weakest_penalty_and_noise_the_strongest():
    clean = _model().fit(*_texts(240, noise=0.0))
    noisy = _model().fit(*_texts(240, noise=0.5))
    grid = TextClassifier.LINEAR_C_GRID
    assert clean.linear_C_ == max(grid)
    assert noisy.linear_C_ == min(grid)


def test_a_class_missing_from_a_fold_does_not_break_multiclass_cross_validation():
    texts, labels = _texts(120, noise=0.0)
    labels = np.where(labels == 1, "pos", "neg").astype(object)
    labels[:4] = "rare"  # Four rows: some of the three folds' training parts lack it.
    model = _model().fit(texts, labels)
    assert model.linear_C_ in TextClassifier.LINEAR_C_GRID
    proba = model.predict_proba(texts)
    assert proba.shape == (120, 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def _nb_scaled_reference(features, labels, C, naive_bayes):
    """scikit-learn's logistic regression on (optionally NB-scaled) features; its probabilities."""
    import scipy.sparse
    from sklearn.linear_model import LogisticRegression

    scale = np.ones(features.shape[1])
    if naive_bayes:
        present = (features != 0).astype(float)
        p = 1.0 + np.asarray(present[labels == 1].sum(axis=0)).ravel()
        q = 1.0 + np.asarray(present[labels == 0].sum(axis=0)).ravel()
        scale = np.abs(np.log(p / p.sum()) - np.log(q / q.sum()))
    scaled = features @ scipy.sparse.diags(scale)
    model = LogisticRegression(C=C, max_iter=1000, tol=1e-4).fit(scaled, labels)
    return model.predict_proba(scaled)[:, 1]


def test_binary_text_n_grams_are_weighted_by_their_naive_bayes_log_count_ratio():
    from core.backbones.text_model import text_model_parts

    texts, labels = _texts(200, noise=0.15)
    # No validation rows and a frozen deep path: the model is its linear path alone.
    model = _model(validation_fraction=0.0, learning_rate=0.0).fit(texts, labels)
    ids = model._transform(texts).astype(np.int64)
    features = text_model_parts(model.model_).linear_path.sparse_features(ids)
    proba = model.predict_proba(texts)[:, 1]
    with_nb = _nb_scaled_reference(features, labels, model.linear_C_, naive_bayes=True)
    without = _nb_scaled_reference(features, labels, model.linear_C_, naive_bayes=False)
    assert np.abs(proba - with_nb).max() < 5e-3
    assert np.abs(proba - without).max() > 2e-2
