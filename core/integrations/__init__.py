"""Bridges to the platforms models live on: MLflow (`core.integrations.mlflow`)."""
