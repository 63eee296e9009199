"""The stack's config, validated at the boundary (pydantic v2, camelCase keys, unknown keys rejected).

Field-level checks live here; rules that relate pools to each other and to the topology live in
``pool_planner`` so they can report every problem at once with its path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from ipaddress import IPv4Network
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from armful.addons.config import AddonsConfig
from armful.core.arch import Arch
from armful.core.config_base import ConfigModel
from armful.core.errors import CONFIG_NAMESPACE, ConfigIssue, StackConfigError, issues_from_pydantic
from armful.core.kubernetes_versions import (
    DEFAULT_KUBERNETES_VERSION,
    EKS_VERSIONS,
    SupportLevel,
    standard_versions,
    support_level,
)
from armful.core.pools import ARCH_LABEL, CapacityType, OsFamily
from armful.core.taints import TaintEffect
from armful.core.topology import Topology

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"
IAM_PRINCIPAL_ARN = r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+$"
# The kubelet refuses to set labels in these domains and their subdomains (node-role.kubernetes.io/...)
# on its own node, so a node group carrying one never joins; Armful's own domain is Armful's.
RESERVED_LABEL_DOMAINS = ("node.armful.dev", "kubernetes.io", "k8s.io", "eks.amazonaws.com")
RESERVED_TAINT_KEYS = frozenset({"CriticalAddonsOnly", ARCH_LABEL})


def reserved_label(key: str) -> bool:
    domain = key.split("/", 1)[0] if "/" in key else ""
    return any(domain == reserved or domain.endswith(f".{reserved}") for reserved in RESERVED_LABEL_DOMAINS)


class TaintConfig(ConfigModel):
    key: Annotated[str, Field(min_length=1, max_length=63)]
    value: Annotated[str, Field(max_length=63)] = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED_TAINT_KEYS or key.startswith("node.armful.dev/"):
            raise ValueError(
                f"taint key {key!r} is Armful's own (it taints pools by topology). "
                "Fix: remove this taint, or use a key of your own domain such as example.com/dedicated"
            )
        return key


class PoolConfig(ConfigModel):
    name: Annotated[str, Field(pattern=DNS_LABEL)]
    instance_types: Annotated[list[str], Field(min_length=1)]
    arch: Arch | None = Field(
        default=None,
        description="Only for instance families Armful's table does not know; otherwise derived.",
    )
    os_family: OsFamily = OsFamily.AL2023
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    min_size: Annotated[int, Field(ge=0, le=450)] = 2
    max_size: Annotated[int, Field(ge=1, le=450)] = 4
    desired_size: Annotated[int | None, Field(ge=0, le=450)] = None
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 50
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[TaintConfig] = Field(default_factory=list)

    @field_validator("capacity_type", mode="before")
    @classmethod
    def _capacity_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().upper().replace("-", "_")
        return value

    @field_validator("os_family", mode="before")
    @classmethod
    def _os_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            for family in OsFamily:
                if family.value.lower() == value.strip().lower():
                    return family
        return value

    @field_validator("instance_types")
    @classmethod
    def _instance_type_form(cls, types: list[str]) -> list[str]:
        for instance_type in types:
            if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+(-[a-z0-9]+)*", instance_type):
                raise ValueError(
                    f"{instance_type!r} is not an EC2 instance type. Fix: write it as family.size, e.g. m7g.large"
                )
        if len(set(types)) != len(types):
            raise ValueError("an instance type is listed twice. Fix: list each instance type once")
        return types

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if reserved_label(key):
                raise ValueError(
                    f"label {key!r} uses a prefix Armful or Kubernetes sets on nodes. "
                    "Fix: use a key of your own domain, such as example.com/team"
                )
        return labels

    @property
    def effective_desired_size(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size


class EndpointConfig(ConfigModel):
    private_access: bool = True
    allow_public_internet: bool = Field(
        default=False, description="Must be true for publicAccessCidrs to include 0.0.0.0/0."
    )
    public_access_cidrs: list[IPv4Network] = Field(default_factory=list)

    @field_validator("private_access")
    @classmethod
    def _private_on(cls, private_access: bool) -> bool:
        if not private_access:
            raise ValueError(
                "nodes and in-cluster add-ons reach the API server over the private endpoint. "
                "Fix: remove privateAccess or set it to true"
            )
        return private_access

    @field_validator("public_access_cidrs")
    @classmethod
    def _open_internet_needs_opt_in(cls, cidrs: list[IPv4Network], info: ValidationInfo) -> list[IPv4Network]:
        if any(cidr.prefixlen == 0 for cidr in cidrs) and not info.data.get("allow_public_internet", False):
            raise ValueError(
                "publicAccessCidrs contains 0.0.0.0/0, which opens the API server to the whole internet. "
                "Fix: list your own CIDRs, or set cluster.endpoint.allowPublicInternet: true to accept that"
            )
        return cidrs

    @property
    def public_access(self) -> bool:
        return bool(self.public_access_cidrs)


class ClusterConfig(ConfigModel):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,99}$")]
    allow_extended_support: bool = Field(
        default=False, description="Accept a Kubernetes version past EKS standard support (billed extra)."
    )
    kubernetes_version: str = Field(default=DEFAULT_KUBERNETES_VERSION, validate_default=True)
    endpoint: EndpointConfig = Field(default_factory=EndpointConfig)
    admin_principal_arns: list[Annotated[str, Field(pattern=IAM_PRINCIPAL_ARN)]] = Field(default_factory=list)
    deletion_protection: bool = True
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("kubernetes_version")
    @classmethod
    def _version_supported(cls, version: str, info: ValidationInfo) -> str:
        check_kubernetes_version(version, info.data.get("allow_extended_support", False))
        return version


def check_kubernetes_version(version: str, allow_extended: bool, today: dt.date | None = None) -> None:
    level = support_level(version, today)
    current = ", ".join(standard_versions(today)) or "the newest version EKS offers"
    if level == SupportLevel.ENDED:
        raise ValueError(
            f"EKS no longer supports Kubernetes {version!r}. Fix: use a version in standard support ({current})"
        )
    if level == SupportLevel.UNKNOWN:
        known = ", ".join(v.version for v in EKS_VERSIONS)
        raise ValueError(
            f"Kubernetes {version!r} is not in Armful's table of EKS versions ({known}). Fix: use a version "
            f"in standard support ({current}); if EKS has released {version}, add it to "
            "components/core/kubernetes_versions.py"
        )
    if level == SupportLevel.EXTENDED and not allow_extended:
        raise ValueError(
            f"Kubernetes {version} is past EKS standard support and billed as extended support. "
            f"Fix: use {current}, or set cluster.allowExtendedSupport: true"
        )


_SUBNET_ID = Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]


class NetworkConfig(ConfigModel):
    """Either a VPC Armful creates (the default) or an existing one given by id and private subnets."""

    vpc_id: Annotated[str | None, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")] = None
    private_subnet_ids: list[_SUBNET_ID] = Field(default_factory=list, validate_default=True)
    public_subnet_ids: list[_SUBNET_ID] = Field(default_factory=list)
    cidr: IPv4Network = IPv4Network("10.0.0.0/16")
    availability_zones: Annotated[int, Field(ge=2, le=6)] = 3
    single_nat_gateway: bool = Field(
        default=False, description="One NAT gateway for all AZs: cheaper, but one AZ's outage cuts egress."
    )

    @field_validator("private_subnet_ids", "public_subnet_ids")
    @classmethod
    def _subnets_belong_to_a_given_vpc(cls, ids: list[str], info: ValidationInfo) -> list[str]:
        if "vpc_id" not in info.data:
            return ids
        if info.data["vpc_id"] is None and ids:
            raise ValueError(
                "subnet ids were given without vpcId. Fix: set network.vpcId to their VPC, "
                "or remove the subnet ids to let Armful create the VPC"
            )
        if info.data["vpc_id"] is not None and info.field_name == "private_subnet_ids" and len(ids) < 2:
            raise ValueError(
                "an existing VPC needs at least two private subnets in different AZs for nodes. "
                "Fix: list them in network.privateSubnetIds"
            )
        return ids

    @field_validator("cidr", "availability_zones", "single_nat_gateway")
    @classmethod
    def _only_for_a_new_vpc(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("vpc_id") is not None:
            key = to_camel(info.field_name or "")
            raise ValueError(
                f"{key} only applies to a VPC Armful creates, but vpcId names an existing one. "
                f"Fix: remove {key}, or remove vpcId"
            )
        return value

    @field_validator("cidr")
    @classmethod
    def _cidr_size(cls, cidr: IPv4Network) -> IPv4Network:
        if not 16 <= cidr.prefixlen <= 20:
            raise ValueError(
                f"cidr {cidr} is outside what a VPC can use here: AWS allows /16 at most, and Armful needs "
                "/20 at least for private and public subnets in every AZ. Fix: use a block from /16 to /20, "
                "such as 10.0.0.0/16"
            )
        return cidr

    @property
    def creates_vpc(self) -> bool:
        return self.vpc_id is None


class WorkloadConfig(ConfigModel):
    """One of the user's own applications, so ``plan`` can say where it lands and what it needs."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
    images: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    arches: list[Arch] = Field(
        default_factory=list,
        description="The arches every image has, when not read from registries with `readiness`.",
    )


class PoolsConfig(ConfigModel):
    """A topology and its pools: all ``NodePools`` needs, on a cluster of Armful's or an existing one."""

    topology: Topology
    preferred_arch: Arch | None = Field(
        default=None, description="mixed only: the arch apps land on unless they opt in to the other."
    )
    system_pool: PoolConfig
    worker_pools: Annotated[list[PoolConfig], Field(min_length=1)]

    @field_validator("preferred_arch")
    @classmethod
    def _preferred_arch_only_for_mixed(cls, arch: Arch | None, info: ValidationInfo) -> Arch | None:
        topology = info.data.get("topology")
        if arch is not None and topology is not None and topology is not Topology.MIXED:
            raise ValueError(
                f"preferredArch only applies to the mixed topology, not {topology.value}. Fix: remove preferredArch"
            )
        return arch

    @property
    def effective_preferred_arch(self) -> Arch:
        return self.preferred_arch or Arch.ARM64


class StackConfig(PoolsConfig):
    """Everything under the ``armful:`` namespace of a stack's config."""

    cluster: ClusterConfig
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    workloads: list[WorkloadConfig] = Field(default_factory=list)


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the ``armful:`` keys of a stack (namespace already stripped), or raise StackConfigError."""
    try:
        return StackConfig.model_validate(dict(raw))
    except ValidationError as error:
        raise StackConfigError(issues_from_pydantic(error)) from None


# Secrets are read by the Pulumi layer with require_secret and never pass through the plan.
SECRET_CONFIG_KEYS = {"grafana_admin_password": "grafanaAdminPassword"}
"""The plan's name for each secret → its key under ``armful:``."""


def strip_namespace(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"armful:topology": ..., "aws:region": ...}`` → ``{"topology": ...}``, secrets left out."""
    prefix = f"{CONFIG_NAMESPACE}:"
    stripped = {key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)}
    return {key: value for key, value in stripped.items() if key not in SECRET_CONFIG_KEYS.values()}


__all__ = [
    "ClusterConfig",
    "ConfigIssue",
    "EndpointConfig",
    "NetworkConfig",
    "PoolConfig",
    "PoolsConfig",
    "StackConfig",
    "TaintConfig",
    "parse_stack_config",
    "strip_namespace",
]
