"""MLflow's GenAI features (traces, assessments, evaluation datasets, scorers, issues,
labeling, the AI gateway, the MCP server registry) are out of scope for this store: each of
their store methods raises one clear MlflowException naming the feature, instead of
MLflow's bare NotImplementedError."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED
from mlflow.store.tracking.gateway.abstract_mixin import GatewayStoreMixin
from mlflow.store.tracking.mcp_server_registry.abstract_mixin import MCPServerRegistryMixin

FEATURES: dict[str, tuple[str, ...]] = {
    "traces": (
        "start_trace", "delete_traces", "_delete_traces", "get_trace_info", "get_trace",
        "batch_get_traces", "batch_get_trace_infos", "archive_traces",
        "get_online_trace_details", "search_traces", "find_completed_sessions",
        "query_trace_metrics", "set_trace_tag", "delete_trace_tag", "log_spans",
        "log_spans_async", "unlink_traces_from_run", "link_prompts_to_trace",
        "calculate_trace_filter_correlation",
    ),
    "assessments": ("get_assessment", "create_assessment", "update_assessment",
                    "delete_assessment"),
    "issues": ("create_issue", "get_issue", "update_issue", "search_issues"),
    "evaluation datasets": (
        "create_dataset", "get_dataset", "delete_dataset", "search_datasets",
        "upsert_dataset_records", "delete_dataset_records", "set_dataset_tags",
        "delete_dataset_tag", "get_dataset_experiment_ids", "_load_dataset_records",
        "add_dataset_to_experiments", "remove_dataset_from_experiments",
    ),
    "scorers": (
        "register_scorer", "list_scorers", "list_scorers_across_experiments", "get_scorer",
        "list_scorer_versions", "delete_scorer", "upsert_online_scoring_config",
        "get_online_scoring_configs", "get_active_online_scorers",
    ),
    "label schemas and review queues": (
        "create_label_schema", "get_label_schema", "get_label_schema_by_name",
        "list_label_schemas", "update_label_schema", "delete_label_schema",
        "create_review_queue", "get_or_create_user_queue", "get_review_queue",
        "get_review_queue_by_name", "list_review_queues", "update_review_queue",
        "delete_review_queue", "add_items_to_review_queue", "remove_items_from_review_queue",
        "list_review_queue_items", "set_review_queue_item_status",
    ),
    "the AI gateway": tuple(n for n, v in vars(GatewayStoreMixin).items()
                            if callable(v) and not n.startswith("__")),
    "the MCP server registry": tuple(n for n, v in vars(MCPServerRegistryMixin).items()
                                     if callable(v) and not n.startswith("__")),
}


def refusal(feature: str) -> MlflowException:
    return MlflowException(
        f"the mlops tracking store does not support MLflow's GenAI feature {feature!r} (it "
        "keeps experiments, runs, metrics, artifacts, logged and registered models); use an "
        "MLflow tracking server for GenAI features", NOT_IMPLEMENTED)


def _refuser(feature: str, name: str):
    def refuse(self, *args, **kwargs):
        raise refusal(feature)

    refuse.__name__ = name
    refuse.__doc__ = f"Not supported: MLflow's {feature}."
    return refuse


class GenAIRefusals:
    """A mixin whose GenAI methods each refuse, naming their feature."""

    @staticmethod
    def refuse(feature: str):
        raise refusal(feature)


for _feature, _names in FEATURES.items():
    for _name in _names:
        setattr(GenAIRefusals, _name, _refuser(_feature, _name))
