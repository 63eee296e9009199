"""The whole ``armful:`` namespace of a stack: the core's config models joined with the add-ons'.

Validated at the boundary (pydantic v2, camelCase keys, unknown keys rejected with their path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from armful.addons.config import AddonsConfig
from armful.addons.registry import SECRET_CONFIG_KEYS
from armful.core.config import ClusterConfig, NetworkConfig, PoolsConfig, WorkloadConfig
from armful.core.errors import CONFIG_NAMESPACE, StackConfigError, issues_from_pydantic


class StackConfig(PoolsConfig):
    """Everything under the ``armful:`` namespace of a stack's config."""

    cluster: ClusterConfig
    """The EKS control plane: name, Kubernetes version, endpoint access, admins."""
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    """The VPC: leave out to let Armful create one."""
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    """Per add-on (camelCase key, e.g. certManager): enabled, values overrides and its options."""
    workloads: list[WorkloadConfig] = Field(default_factory=list)
    """Your own applications, so the plan shows where they land and what they need."""


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the ``armful:`` keys of a stack (namespace already stripped), or raise StackConfigError."""
    try:
        return StackConfig.model_validate(dict(raw))
    except ValidationError as error:
        raise StackConfigError(issues_from_pydantic(error)) from None


def strip_namespace(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"armful:topology": ..., "aws:region": ...}`` → ``{"topology": ...}``, secrets left out."""
    prefix = f"{CONFIG_NAMESPACE}:"
    stripped = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    return {key: value for key, value in stripped.items() if key not in SECRET_CONFIG_KEYS.values()}
