"""The running stack's config, gathered whole so that unknown keys are caught too.

Everything is read and judged by ``stack_config_from_pulumi``, the function ``armful plan`` reads a stack
file through, so the program refuses exactly what the plan refuses, in the same words, and raises it as
a ``pulumi.RunError`` (``armful.run_errors``) that ``pulumi up`` prints without a stack trace.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime import config as runtime_config

from armful.planning.stack_config import StackInput, stack_config_from_pulumi
from armful.run_errors import armful_errors


def _merged_config() -> dict[str, Any]:
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def _secret_keys(config: dict[str, Any]) -> set[str]:
    env = set(runtime_config.get_config_secret_keys_env())
    return {key for key in config if runtime_config.is_config_secret(key) or key in env}


def read_stack() -> StackInput:
    """The stack's config, validated; raises a RunError naming every field before anything is registered."""
    config = _merged_config()
    with armful_errors():
        return stack_config_from_pulumi(config, _secret_keys(config))


def read_stack_args() -> dict[str, Any]:
    """The stack's ``armful:`` config as ``ArmCluster`` args, validated first, with the AWS region."""
    stack = read_stack()
    return {**stack.armful, "region": stack.region}


__all__ = ["read_stack", "read_stack_args"]
