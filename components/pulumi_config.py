"""The running stack's ``armful:`` config, gathered whole so that unknown keys are caught too."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config

from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, StackConfigError
from armful.planning.stack_config import SECRET_CONFIG_KEYS, StackConfig, parse_stack_config, strip_namespace


def _merged_config() -> dict[str, Any]:
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def _is_secret(key: str) -> bool:
    return runtime_config.is_config_secret(key) or key in runtime_config.get_config_secret_keys_env()


def check_secrets() -> None:
    """Refuse ``armful:`` keys set as secrets other than the ones Armful reads as secrets.

    Every other key's value goes into resource inputs and Helm values as plain text, and so into the
    stack's state: a secret there would be revealed, not kept.
    """
    allowed = {f"{CONFIG_NAMESPACE}:{key}" for key in SECRET_CONFIG_KEYS.values()}
    leaking = sorted(
        key
        for key in _merged_config()
        if key.startswith(f"{CONFIG_NAMESPACE}:") and key not in allowed and _is_secret(key)
    )
    if leaking:
        only = ", ".join(sorted(allowed))
        raise StackConfigError(
            [
                ConfigIssue(
                    key,
                    "this key is set as a secret, but Armful passes its value into resource inputs and "
                    "Helm values in plain text, so the stack's state would keep it unencrypted (only "
                    f"{only} is read as a secret)",
                    f"set it without --secret (pulumi config set {key} ...), or keep the secret out of "
                    "Armful's config",
                )
                for key in leaking
            ]
        )


def armful_config() -> dict[str, Any]:
    """Every ``armful:*`` key of the stack, structured values decoded from the JSON Pulumi passes."""
    return {key: _decode(value) for key, value in strip_namespace(_merged_config()).items()}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        return json.loads(value)
    return value


def read_stack_config() -> StackConfig:
    """Validate the stack's config; raises StackConfigError before any resource is registered."""
    check_secrets()
    return parse_stack_config(armful_config())


def read_stack_args() -> dict[str, Any]:
    """The stack's ``armful:`` config as ``ArmCluster`` args, validated first, with the AWS region."""
    read_stack_config()
    return {**armful_config(), "region": runtime_config.get_config("aws:region") or ""}


__all__ = ["armful_config", "check_secrets", "read_stack_args", "read_stack_config"]
