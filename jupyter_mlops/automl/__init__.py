"""AutoML as a tracked search: Optuna over scikit-learn pipelines, every trial a nested run."""
