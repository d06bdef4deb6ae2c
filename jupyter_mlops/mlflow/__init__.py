"""The MLflow on-ramp: this store served to MLflow's own client through its plugin entry
points (a tracking store, a model registry store and an artifact repository under the URI
scheme `mlops`), and `import_mlflow`, which copies an MLflow store in.

MLflow is an optional extra (`pip install jupyter-mlops[mlflow]`): only these modules import
it, and only when MLflow loads them or `import_mlflow` is called.
"""
