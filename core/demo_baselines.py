"""The baseline the demo sets beside a table task: what a user fits without this toolkit."""


def logistic_regression_baseline(X, y, text_columns=()):
    """A fitted scikit-learn logistic regression on a raw DataFrame.

    Numbers are median-imputed and standardised, other columns (booleans as
    text) most-frequent-imputed and one-hot encoded; each text column, if
    any, becomes TF-IDF features (1-2 grams, sublinear tf), beside them:
    the late-fusion model a user builds by hand.

    Args:
        X: DataFrame of mixed columns (drop image columns first).
        y: binary labels.
        text_columns: columns of free text (a missing text reads as "").

    Returns:
        The fitted pipeline.
    """
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    text_columns = list(text_columns)
    numeric = make_column_selector(dtype_include="number")
    table = [c for c in X.columns if c not in text_columns]
    other = [c for c in X[table].select_dtypes(exclude="number").columns]
    texts = [
        (TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), column)
        for column in text_columns
    ]
    features = make_column_transformer(
        *texts,
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
            ),
            other,
        ),
    )
    prepare = FunctionTransformer(_prepared, kw_args={"text_columns": text_columns})
    return make_pipeline(prepare, features, LogisticRegression(max_iter=5000)).fit(X, y)


def _prepared(X, text_columns):
    """Booleans as text (so they are one-hot encoded) and missing texts as ""."""
    X = X.astype({c: str for c in X.columns if X[c].dtype == bool})
    return X.assign(**{c: X[c].fillna("") for c in text_columns})
