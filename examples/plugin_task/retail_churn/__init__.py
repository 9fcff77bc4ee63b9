"""keras-domains-retail: customer churn as the keras-domains task "retail.churn"."""

from retail_churn.churn_predictor import ChurnPredictor
from retail_churn.sample import make_customers

__all__ = ["ChurnPredictor", "make_customers"]
