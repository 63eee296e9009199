"""``NodePools``' args → the planned pools, validated by the same model as stack config's pools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from armful.core.config import PoolsConfig
from armful.core.errors import StackConfigError, issues_from_pydantic
from armful.core.pool_planner import plan_pools
from armful.core.pools import PoolPlan

POOL_ARGS = ("topology", "preferred_arch", "system_pool", "worker_pools")


def plan_node_pools(args: Mapping[str, Any]) -> tuple[PoolPlan, ...]:
    """The pools of a topology, system pool first; raises StackConfigError naming the same fields as
    stack config does."""
    try:
        config = PoolsConfig.model_validate({key: args[key] for key in POOL_ARGS if key in args})
    except ValidationError as error:
        raise StackConfigError(issues_from_pydantic(error)) from None
    return tuple(plan_pools(config))
