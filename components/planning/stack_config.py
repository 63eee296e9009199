"""The whole ``armful:`` namespace of a stack: the core's config models joined with the add-ons'.

Validated at the boundary (pydantic v2, camelCase keys, unknown keys rejected with their path).

``stack_config_from_pulumi`` is the one path from a stack's config to its errors: ``plan`` gives it the
stack file in the form Pulumi hands a program (``planning.stack_file``), the stack program gives it what
Pulumi handed it (``pulumi_config``), so the two refuse the same configs with the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError, field_validator

from armful.addons.config import AddonsConfig
from armful.addons.registry import SECRET_CONFIG_KEYS
from armful.core.aws_regions import region_problem, zones_problem
from armful.core.config import ClusterConfig, NetworkConfig, PoolsConfig, WorkloadConfig
from armful.core.errors import (
    CONFIG_NAMESPACE,
    ConfigIssue,
    StackConfigError,
    config_path,
    issues_from_pydantic,
    raise_if_any,
)
from armful.core.pools import NodeVersions
from armful.core.safe_yaml import bounds_problem
from armful.planning.chart_sources import ChartSourcesConfig
from armful.planning.value_rules import value_issues

REGION_KEY = "aws:region"
MAX_WORKLOAD_PODS = 10_000
"""Pods of the user's workloads, all together, that the plan packs onto pools (a few seconds' work)."""


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
    charts: ChartSourcesConfig = Field(default_factory=ChartSourcesConfig)
    """Where the add-ons' Helm charts come from (mirrors, a folder of archives), their digests, and whether pulumi preview and up render them first."""

    def node_versions(self) -> NodeVersions:
        """Every node group runs the cluster's Kubernetes version, at the AMI release the cluster says."""
        return NodeVersions(self.cluster.kubernetes_version, self.cluster.node_ami_release)

    @field_validator("workloads")
    @classmethod
    def _one_name_per_workload(cls, workloads: list[WorkloadConfig]) -> list[WorkloadConfig]:
        first: dict[str, int] = {}
        for index, workload in enumerate(workloads):
            if workload.name in first:
                raise ValueError(
                    f"workloads[{index}] is named {workload.name!r}, as workloads[{first[workload.name]}] is; the "
                    "plan reports each workload by its name. Fix: give every workload its own name"
                )
            first[workload.name] = index
        total = sum(workload.replicas for workload in workloads)
        if total > MAX_WORKLOAD_PODS:
            raise ValueError(
                f"the workloads run {total:,} pods together; the capacity proof packs each of them and plans "
                f"{MAX_WORKLOAD_PODS:,} at most. Fix: list the workloads whose placement you want proven, "
                "with their real replica counts"
            )
        return workloads


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the ``armful:`` keys of a stack (namespace already stripped), or raise StackConfigError."""
    try:
        config = StackConfig.model_validate(dict(raw))
    except ValidationError as error:
        raise StackConfigError(issues_from_pydantic(error)) from None
    raise_if_any(value_issues(config))
    return config


@dataclass(frozen=True)
class StackInput:
    """A stack's config, validated: what the plan and ``ArmCluster`` are built from."""

    armful: dict[str, Any]
    """The ``armful:`` keys, namespace stripped, secrets left out, structured values decoded."""
    region: str
    config: StackConfig


def stack_config_from_pulumi(config: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackInput:
    """A stack's whole config as Pulumi hands it to a program (namespaced keys; values are strings, maps and
    lists as JSON text) → validated config; raises StackConfigError with every issue found.

    ``secret_keys`` are the keys set with ``--secret``. Misplaced secrets are reported alone and first:
    the other keys' values are then not worth reading.
    """
    raise_if_any(secret_key_issues(config, secret_keys))
    issues: list[ConfigIssue] = []
    armful: dict[str, Any] = {}
    undecodable: set[str] = set()
    for key, value in strip_namespace(config).items():
        decoded, issue = decode_config_value(config_path(key), value)
        if issue is None:
            armful[key] = decoded
        else:
            issues.append(issue)
            undecodable.add(issue.path)
    parsed = None
    try:
        parsed = parse_stack_config(armful)
    except StackConfigError as error:
        # A key that could not be read is reported once, not again as missing.
        issues += [issue for issue in error.issues if issue.path not in undecodable]
    region = config.get(REGION_KEY)
    region_text = region if isinstance(region, str) else json.dumps(region)
    issues += region_issues(region_text if region is not None else "", parsed)
    raise_if_any(issues)
    assert parsed is not None
    return StackInput(armful, region_text, parsed)


def secret_key_issues(config: Mapping[str, Any], secret_keys: Collection[str]) -> list[ConfigIssue]:
    """Secrets where Armful reads plain values, and a value Armful reads as a secret given in plain text."""
    prefix = f"{CONFIG_NAMESPACE}:"
    allowed = {f"{prefix}{key}" for key in SECRET_CONFIG_KEYS.values()}
    only = ", ".join(sorted(allowed))
    issues = [
        ConfigIssue(
            key,
            "this key is set as a secret, but Armful passes its value into resource inputs and "
            "Helm values in plain text, so the stack's state would keep it unencrypted (only "
            f"{only} is read as a secret)",
            f"set it without --secret (pulumi config set {key} ...), or keep the secret out of Armful's config",
        )
        for key in sorted(config)
        if key.startswith(prefix) and key not in allowed and key in secret_keys
    ]
    issues += [
        ConfigIssue(
            key,
            "this secret is in plain text: the stack file keeps it readable to anyone who can read the file",
            f"set it with pulumi config set --secret {key} <value>, which stores it encrypted, or remove it "
            "(Armful then generates one)",
        )
        for key in sorted(allowed)
        if key in config and key not in secret_keys
    ]
    return issues


def decode_config_value(path: str, value: Any) -> tuple[Any, ConfigIssue | None]:
    """A value as Pulumi handed it → its data: a string that starts with ``{`` or ``[`` is JSON, the form
    Pulumi gives maps and lists in (and ``pulumi.Config.get_object`` reads); anything else stays as it is."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            value = json.loads(value, object_pairs_hook=_refuse_repeated_keys)
        except RecursionError:
            return None, ConfigIssue(
                path, "this JSON nests too deeply to read", "flatten the structure, and write it as YAML"
            )
        except ValueError as error:
            opening = value.lstrip()[0]
            return None, ConfigIssue(
                path,
                f"this is a string that starts with {opening!r}, which Pulumi passes on as JSON, but it is not "
                f"valid JSON ({error})",
                "write the map or list as YAML under the key, or correct the JSON",
            )
    problem = bounds_problem(value)
    if problem is not None:
        return None, ConfigIssue(
            path, f"this is too large for config: {problem}", "remove what is not config"
        )
    return value, None


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} is given twice in one map")
        result[key] = value
    return result


def region_issues(region: str, config: StackConfig | None) -> list[ConfigIssue]:
    """The AWS region: set, one EKS runs in, with the AZs a VPC Armful creates asks for."""
    if not region:
        fix = "pulumi config set aws:region us-west-2 (or yours)"
        return [ConfigIssue(REGION_KEY, "no AWS region is set", fix)]
    problem = region_problem(region)
    if problem is not None:
        return [ConfigIssue(REGION_KEY, *problem)]
    if config is None or not config.network.creates_vpc:
        return []
    zones = zones_problem(region, config.network.availability_zones)
    return [] if zones is None else [ConfigIssue(config_path("network", "availabilityZones"), *zones)]


def strip_namespace(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"armful:topology": ..., "aws:region": ...}`` → ``{"topology": ...}``, secrets left out."""
    prefix = f"{CONFIG_NAMESPACE}:"
    stripped = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    return {key: value for key, value in stripped.items() if key not in SECRET_CONFIG_KEYS.values()}
