"""Sample values for any template parameter, so that a new template is tested without new test code."""

from __future__ import annotations

from typing import Any

from smtrail_sql.params import ParamSpec
from smtrail_sql.templates import Template
from tests.events import TRIAL_COMPONENT

#: Values that make the fixture data answer (by parameter name).
BY_NAME: dict[str, Any] = {
    "trial_components": [TRIAL_COMPONENT, "bert-finetune-aws-training-job", "xgboost-aws-training-job"],
    "metrics": ["train:loss", "validation:loss", "train:accuracy"],
    "error_codes": ["ThrottlingException", "AccessDenied"],
    "account_ids": ["123456789012", "210987654321"],
    "region_codes": ["us-east-1", "eu-west-1"],
    "trial_component_glob": "*training*",
    "job": "resnet-training-job",
}
#: Fallbacks by type for parameters the table above does not know.
BY_TYPE: dict[str, Any] = {
    "str": "sample",
    "int": 10,
    "float": 1.5,
    "bool": True,
    "timestamp": "2024-05-01T00:00:00Z",
    "date": "2024-05-01",
    "glob": "*",
}


def sample_value(spec: ParamSpec) -> Any:
    """A valid value for the parameter."""
    if spec.name in BY_NAME:
        return BY_NAME[spec.name]
    value = BY_TYPE[spec.scalar_type]
    return [value] if spec.is_list else value


def required_params(template: Template) -> dict[str, Any]:
    """Values for the required parameters only (optional filters vanish)."""
    return {name: sample_value(spec) for name, spec in template.params.items() if spec.required}


def all_params(template: Template) -> dict[str, Any]:
    """Values for every parameter (every filter present)."""
    return {name: sample_value(spec) for name, spec in template.params.items()}
