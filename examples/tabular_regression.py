"""Regression with prediction intervals on a real table, end to end.

Fits a TabularRegressor with the quantile loss on scikit-learn's diabetes
data (disease progression one year after baseline, 442 patients), compares
it with ridge regression, and gives each held-out patient a prediction and
a 90% conformal interval whose width follows the patient's uncertainty.

    python examples/tabular_regression.py [--out regression.kdm]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split

from core.estimators import TabularRegressor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="regression.kdm", help="model file to write")
    args = parser.parse_args(argv)

    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = TabularRegressor(loss="quantile", random_state=0).fit(X_train, y_train)
    report = model.report(X_test, y_test, alpha=0.1)
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X_train, y_train)
    ridge_rmse = float(np.sqrt(np.mean((ridge.predict(X_test) - y_test) ** 2)))
    print(f"RMSE {report['rmse']:.1f} (ridge {ridge_rmse:.1f}), R2 {report['r2']:.3f}")
    print(f"90% intervals cover {report['coverage']:.1%} of held-out patients, "
          f"mean width {report['mean_width']:.0f}\n")  # fmt: skip

    patients = X_test.head(5)
    low, high = model.predict_interval(patients, alpha=0.1).T
    for i, (value, a, b, truth) in enumerate(
        zip(model.predict(patients), low, high, y_test.head(5), strict=True)
    ):
        print(f"patient {i}: predicted {value:6.1f}, 90% interval [{a:6.1f}, {b:6.1f}], "
              f"observed {truth:6.1f}")  # fmt: skip
    print("\nwhat moved the first patient's prediction:")
    print(model.explain(patients.head(1)).round(1).T.to_string())
    print(f"\nsaved to {model.save(args.out)}")


if __name__ == "__main__":
    main()
