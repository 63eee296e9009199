"""The running stack's ``armful:`` config, gathered whole so that unknown keys are caught too."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config

from components.core.config import StackConfig, parse_stack_config, strip_namespace


def armful_config() -> dict[str, Any]:
    """Every ``armful:*`` key of the stack, structured values decoded from the JSON Pulumi passes."""
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key: _decode(value) for key, value in strip_namespace(merged).items()}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        return json.loads(value)
    return value


def read_stack_config() -> StackConfig:
    """Validate the stack's config; raises StackConfigError before any resource is registered."""
    return parse_stack_config(armful_config())


def read_stack_args() -> dict[str, Any]:
    """The stack's ``armful:`` config as ``ArmCluster`` args, validated first, with the AWS region."""
    read_stack_config()
    return {**armful_config(), "region": runtime_config.get_config("aws:region") or ""}


__all__ = ["armful_config", "read_stack_args", "read_stack_config"]
