"""The baseline the demo sets beside a table task: what a user fits without this toolkit."""


def logistic_regression_baseline(X, y):
    """A fitted scikit-learn logistic regression on a raw DataFrame.

    Numbers are median-imputed and standardised, other columns (booleans as
    text) most-frequent-imputed and one-hot encoded.

    Args:
        X: DataFrame of mixed columns.
        y: binary labels.

    Returns:
        The fitted pipeline; booleans in X must be passed as they were here.
    """
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_column_selector(dtype_include="number")
    other = make_column_selector(dtype_exclude="number")
    features = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
            ),
            other,
        ),
    )
    X = X.astype({c: str for c in X.columns if X[c].dtype == bool})
    return make_pipeline(features, LogisticRegression(max_iter=5000)).fit(X, y)
