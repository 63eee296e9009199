"""The core's config models, validated at the boundary (pydantic v2, camelCase keys, unknown keys rejected).

Field-level checks live here; rules that relate pools to each other and to the topology live in
``pool_planner`` so they can report every problem at once with its path.
"""

from __future__ import annotations

import datetime as dt
import re
from ipaddress import IPv4Network
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

from armful.core.arch import Arch
from armful.core.aws_names import IAM_PRINCIPAL_ARN, SUBNET_ID, VPC_ID, cluster_name_problem, tag_problems
from armful.core.cidrs import (
    covers_everything,
    duplicate_index,
    parse_cidr,
    unusable_vpc_block_problem,
)
from armful.core.config_base import ConfigModel
from armful.core.kubernetes_names import (
    check_label,
    check_taint,
    dns_label_problem,
    duplicate_taints,
    label_value_name_problem,
)
from armful.core.kubernetes_versions import (
    DEFAULT_KUBERNETES_VERSION,
    EKS_VERSIONS,
    SupportLevel,
    standard_versions,
    support_level,
    version_form_problem,
)
from armful.core.network_layout import EKS_UNSUPPORTED_ZONE_IDS, ZONE_ID
from armful.core.pools import (
    ARCH_LABEL,
    ROLE_LABEL,
    CapacityType,
    NodeAmiRelease,
    NodeVersions,
    OsFamily,
    PoolRole,
)
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.taints import Taint, TaintEffect
from armful.core.topology import Topology

POOL_NAME_MAX = 40
"""A pool's name is in every node group's and launch template's name, and in node labels."""
# The kubelet refuses to set labels in these domains and their subdomains (node-role.kubernetes.io/...)
# on its own node, so a node group carrying one never joins; Armful's own domain is Armful's.
RESERVED_LABEL_DOMAINS = ("node.armful.dev", "kubernetes.io", "k8s.io", "eks.amazonaws.com")
RESERVED_TAINT_KEYS = frozenset({"CriticalAddonsOnly", ARCH_LABEL})


def reserved_label(key: str) -> bool:
    domain = key.split("/", 1)[0] if "/" in key else ""
    return any(domain == reserved or domain.endswith(f".{reserved}") for reserved in RESERVED_LABEL_DOMAINS)


_EKS_EFFECTS = {effect.eks_name: effect for effect in TaintEffect}


class TaintConfig(ConfigModel):
    """A taint on a pool's nodes, in Kubernetes form."""

    key: str
    """The taint's key."""
    value: str = ""
    """The taint's value (default empty)."""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE
    """NoSchedule (default), PreferNoSchedule or NoExecute."""

    @field_validator("effect", mode="before")
    @classmethod
    def _kubernetes_form(cls, effect: Any) -> Any:
        if isinstance(effect, str) and effect in _EKS_EFFECTS:
            raise ValueError(
                f"{effect!r} is how the EKS API spells a taint effect. "
                f"Fix: write taints in Kubernetes form, here {_EKS_EFFECTS[effect].value!r}"
            )
        return effect

    @model_validator(mode="after")
    def _kubernetes_syntax(self) -> TaintConfig:
        check_taint(self.key, self.value, eks_node_group=False)
        return self

    def to_taint(self) -> Taint:
        return Taint(self.key, self.value, self.effect)


class ExtraTaintConfig(TaintConfig):
    """A taint the user adds to a pool Armful plans: never one of the taints Armful sets by topology, and
    within what the EKS node group API takes."""

    @model_validator(mode="after")
    def _eks_limits(self) -> ExtraTaintConfig:
        check_taint(self.key, self.value, eks_node_group=True)
        return self

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key in RESERVED_TAINT_KEYS or key.startswith("node.armful.dev/"):
            raise ValueError(
                f"taint key {key!r} is Armful's own (it taints pools by topology). "
                "Fix: remove this taint, or use a key of your own domain such as example.com/dedicated"
            )
        return key


def _check_labels(labels: dict[str, str], *, eks_node_group: bool) -> dict[str, str]:
    for key, value in labels.items():
        check_label(key, value, eks_node_group=eks_node_group)
    return labels


def check_unique_taints(taints: list[TaintConfig]) -> list[TaintConfig]:
    """Refuse a taint given twice (same key and effect), naming its index."""
    for index, problem in duplicate_taints([(taint.key, taint.effect.value) for taint in taints]):
        raise ValueError(f"taints[{index}]: {problem}. Fix: remove the repeated taint, or change its effect")
    return taints


def os_family_spelling(value: Any) -> Any:
    """An OS family as users write it (``bottlerocket``, `` AL2023``) → the OsFamily it names; anything
    else is left for the model to refuse."""
    if isinstance(value, str):
        for family in OsFamily:
            if family.value.lower() == value.strip().lower():
                return family
    return value


def _raise_for(problem: str | None, fix: str) -> None:
    if problem:
        raise ValueError(f"{problem}. Fix: {fix}")


class CpuAndMemoryConfig(ConfigModel):
    """The checks of a model whose ``cpu`` and ``memory`` fields are Kubernetes quantities (each subclass
    declares the two fields, with its own defaults and docs); both are kept as the text given."""

    @field_validator("cpu", mode="before", check_fields=False)
    @classmethod
    def _cpu_quantity(cls, value: Any) -> Any:
        parse_cpu(value)
        return str(value)

    @field_validator("memory", mode="before", check_fields=False)
    @classmethod
    def _memory_quantity(cls, value: Any) -> Any:
        parse_memory(value)
        return str(value)


class PodRequestsConfig(CpuAndMemoryConfig):
    """A pod's requests, summed over its containers, as Kubernetes quantities."""

    cpu: str
    """A CPU quantity such as 250m or 2."""
    memory: str
    """A memory quantity such as 512Mi or 2Gi."""


class NodeCapacityConfig(ConfigModel):
    """One node's figures, for an instance type Armful's catalog does not know."""

    vcpus: Annotated[int, Field(ge=1, le=2048)]
    """vCPUs of the pool's smallest instance type."""
    memory_mib: Annotated[int, Field(ge=512, le=33554432)]
    """Memory of the pool's smallest instance type, in MiB."""
    max_pods: Annotated[int, Field(ge=1, le=737)]
    """The pods one node can hold (the VPC CNI's figure for the type: ENIs x (IPv4 per ENI - 1) + 2)."""


class PoolConfig(ConfigModel):
    """A node pool Armful creates: one EKS managed node group of one architecture."""

    name: str
    """The pool's name: lowercase letters, digits and hyphens. Nodes carry it as node.armful.dev/pool."""
    instance_types: Annotated[list[str], Field(min_length=1)]
    """EC2 instance types, all of one architecture; the pool's arch is derived from them."""
    arch: Arch | None = None
    """amd64 or arm64, only for instance families Armful's table does not know."""
    os_family: OsFamily = OsFamily.AL2023
    """AL2023 (default) or Bottlerocket."""
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    """on-demand (default) or spot."""
    min_size: Annotated[int, Field(ge=0, le=450)] = 2
    """Fewest nodes (default 2)."""
    max_size: Annotated[int, Field(ge=1, le=450)] = 4
    """Most nodes (default 4)."""
    desired_size: Annotated[int | None, Field(ge=0, le=450)] = None
    """Nodes at creation (default: the minimum); later changes by an autoscaler are kept."""
    disk_size_gib: Annotated[int, Field(ge=20, le=16384)] = 50
    """Size of each node's encrypted gp3 data volume in GiB (default 50)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels, under a domain of your own (Armful sets node.armful.dev/* itself)."""
    taints: list[ExtraTaintConfig] = Field(default_factory=list)
    """Extra taints (Armful adds CriticalAddonsOnly on the system pool and arch taints in mixed)."""
    node_capacity: NodeCapacityConfig | None = None
    """Only for instance types Armful's catalog does not know: one node's vCPUs, memory and max pods."""

    @field_validator("name")
    @classmethod
    def _pool_name(cls, name: str) -> str:
        _raise_for(
            dns_label_problem(name, "pool name", POOL_NAME_MAX),
            "name the pool like general-arm (EKS node group and node label names are made from it)",
        )
        return name

    @field_validator("taints")
    @classmethod
    def _unique_taints(cls, taints: list[ExtraTaintConfig]) -> list[ExtraTaintConfig]:
        check_unique_taints(list(taints))
        return taints

    @field_validator("capacity_type", mode="before")
    @classmethod
    def _capacity_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().upper().replace("-", "_")
        return value

    @field_validator("os_family", mode="before")
    @classmethod
    def _os_spelling(cls, value: Any) -> Any:
        return os_family_spelling(value)

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
        _check_labels(labels, eks_node_group=True)
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
    """Who can reach the cluster's API server."""

    private_access: bool = True
    """Must stay true (default): nodes and in-cluster add-ons reach the API server over the private endpoint."""
    allow_public_internet: bool = False
    """Must be true for the public access CIDRs to contain 0.0.0.0/0."""
    public_access_cidrs: list[IPv4Network] = Field(default_factory=list)
    """CIDRs allowed to reach the public API endpoint; empty (default) turns the public endpoint off."""

    @field_validator("private_access")
    @classmethod
    def _private_on(cls, private_access: bool) -> bool:
        if not private_access:
            raise ValueError(
                "nodes and in-cluster add-ons reach the API server over the private endpoint. "
                "Fix: remove privateAccess or set it to true"
            )
        return private_access

    @field_validator("public_access_cidrs", mode="before")
    @classmethod
    def _cidr_form(cls, cidrs: Any) -> Any:
        if not isinstance(cidrs, list):
            return cidrs
        parsed = []
        for index, cidr in enumerate(cidrs):
            try:
                parsed.append(parse_cidr(cidr, "public access CIDR"))
            except ValueError as error:
                raise ValueError(f"publicAccessCidrs[{index}]: {error}") from None
        return parsed

    @field_validator("public_access_cidrs")
    @classmethod
    def _open_internet_needs_opt_in(cls, cidrs: list[IPv4Network], info: ValidationInfo) -> list[IPv4Network]:
        repeated = duplicate_index(cidrs)
        if repeated is not None:
            raise ValueError(
                f"{cidrs[repeated]} is listed twice (publicAccessCidrs[{repeated}]). Fix: list each block once"
            )
        if covers_everything(cidrs) and not info.data.get("allow_public_internet", False):
            together = (
                "contains 0.0.0.0/0"
                if any(cidr.prefixlen == 0 for cidr in cidrs)
                else f"covers every IPv4 address ({', '.join(map(str, cidrs))} together are 0.0.0.0/0)"
            )
            raise ValueError(
                f"publicAccessCidrs {together}, which opens the API server to the whole internet. "
                "Fix: list your own CIDRs, or set cluster.endpoint.allowPublicInternet: true to accept that"
            )
        return cidrs

    @property
    def public_access(self) -> bool:
        return bool(self.public_access_cidrs)


class ClusterConfig(ConfigModel):
    """The EKS control plane."""

    name: str
    """The EKS cluster's name."""
    allow_extended_support: bool = False
    """Accept a Kubernetes version past EKS standard support (billed extra)."""
    kubernetes_version: str = Field(default=DEFAULT_KUBERNETES_VERSION, validate_default=True)
    """A Kubernetes minor version in EKS standard support (default 1.35)."""
    endpoint: EndpointConfig = Field(default_factory=EndpointConfig)
    """API endpoint access: private always, public only for listed CIDRs."""
    admin_principal_arns: list[Annotated[str, Field(pattern=IAM_PRINCIPAL_ARN)]] = Field(default_factory=list)
    """IAM roles or users given cluster-admin through EKS access entries."""
    bootstrap_creator_admin: bool = False
    """Let EKS make whoever creates the cluster a cluster-admin outside adminPrincipalArns (EKS's own default). Off (default): only adminPrincipalArns administer the cluster, and pulumi up must run as one of them, since it installs the add-ons through the API server."""
    deletion_protection: bool = True
    """EKS deletion protection (default true)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags for the cluster."""
    node_ami_release: NodeAmiRelease = NodeAmiRelease.PINNED
    """pinned (default): each node group keeps the AMI release it was created with until kubernetesVersion changes (or a launch template change replaces its nodes); latest: every pulumi up moves the node groups to the newest release EKS publishes for their AMI type, replacing their nodes when it changes."""

    @field_validator("name")
    @classmethod
    def _cluster_name(cls, name: str) -> str:
        _raise_for(cluster_name_problem(name), "name the cluster like shop-arm-workers")
        return name

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version_is_text(cls, version: Any) -> Any:
        if isinstance(version, int | float) and not isinstance(version, bool):
            newest = EKS_VERSIONS[-1].version
            raise ValueError(
                f"kubernetesVersion is the number {version}, not a string: YAML reads an unquoted version "
                f'as a number, and 1.30 as 1.3. Fix: quote it, e.g. kubernetesVersion: "{newest}"'
            )
        return version

    @field_validator("kubernetes_version")
    @classmethod
    def _version_supported(cls, version: str, info: ValidationInfo) -> str:
        check_kubernetes_version(version, info.data.get("allow_extended_support", False))
        return version

    @field_validator("admin_principal_arns")
    @classmethod
    def _no_sessions(cls, arns: list[str]) -> list[str]:
        for index, arn in enumerate(arns):
            role = role_of_assumed_role(arn)
            if role is not None:
                raise ValueError(
                    f"adminPrincipalArns[{index}] {arn!r} is a session of an assumed role (what aws sts "
                    "get-caller-identity prints), not a principal EKS can give an access entry. Fix: use the "
                    f"role's ARN, {role} (with the role's path, if it has one, before its name)"
                )
        return arns

    @field_validator("admin_principal_arns")
    @classmethod
    def _one_access_entry_per_principal(cls, arns: list[str]) -> list[str]:
        first: dict[str, int] = {}
        for index, arn in enumerate(arns):
            # IAM names are unique regardless of case, so Admin and admin are one role.
            key = arn.lower()
            if key in first:
                raise ValueError(
                    f"adminPrincipalArns[{index}] {arn!r} repeats adminPrincipalArns[{first[key]}]; EKS takes one "
                    "access entry per principal. Fix: list each principal once"
                )
            first[key] = index
        return arns

    @model_validator(mode="after")
    def _someone_administers(self) -> ClusterConfig:
        if not self.admin_principal_arns and not self.bootstrap_creator_admin:
            raise ValueError(
                "adminPrincipalArns is empty and bootstrapCreatorAdmin is false, so no one could reach the "
                "cluster, and pulumi up could not install the add-ons through its API server. Fix: list in "
                "adminPrincipalArns the IAM roles that administer the cluster, the one that runs pulumi up "
                "among them, or set bootstrapCreatorAdmin: true to let EKS make whoever creates the cluster "
                "its admin"
            )
        return self

    @field_validator("tags")
    @classmethod
    def _aws_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, problem in tag_problems(tags):
            aws_prefix = key.lower().startswith("aws:")
            fix = "use a key of your own, such as team" if aws_prefix else "shorten or correct the tag"
            raise ValueError(f"{problem}. Fix: {fix}")
        return tags


_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def role_of_assumed_role(arn: str) -> str | None:
    """The IAM role ARN an STS assumed-role session ARN stands for (its path is not in the session's ARN),
    or None for any other ARN."""
    match = _ASSUMED_ROLE.match(arn)
    if match is None:
        return None
    partition, account, role = match.groups()
    return f"arn:{partition}:iam::{account}:role/{role}"


def check_kubernetes_version(version: str, allow_extended: bool, today: dt.date | None = None) -> None:
    form = version_form_problem(version)
    if form is not None:
        problem, fix = form
        raise ValueError(f"{problem}. Fix: {fix}")
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


_SUBNET_ID = Annotated[str, Field(pattern=SUBNET_ID)]


class NetworkConfig(ConfigModel):
    """The VPC: one Armful creates (the default) or an existing one."""

    vpc_id: Annotated[str | None, Field(pattern=VPC_ID)] = None
    """An existing VPC; leave out to let Armful create one."""
    private_subnet_ids: list[_SUBNET_ID] = Field(default_factory=list, validate_default=True)
    """An existing VPC: at least two private subnets in different AZs, for the nodes."""
    public_subnet_ids: list[_SUBNET_ID] = Field(default_factory=list)
    """An existing VPC: public subnets for internet-facing load balancers."""
    cidr: IPv4Network = IPv4Network("10.0.0.0/16")
    """A VPC Armful creates: its IPv4 block, /16 to /20 (default 10.0.0.0/16)."""
    availability_zones: Annotated[int, Field(ge=2, le=6)] = 3
    """A VPC Armful creates: how many AZs, 2 to 6 (default 3)."""
    single_nat_gateway: bool = False
    """A VPC Armful creates: one NAT gateway for all AZs, cheaper but one AZ's outage cuts egress."""
    zone_ids: list[Annotated[str, Field(pattern=ZONE_ID)]] = Field(default_factory=list)
    """A VPC Armful creates: the AZ IDs of its subnets, in order, such as usw2-az1 (default: the region's first standard AZs EKS supports, by name, whatever their state); the count is availabilityZones."""

    @model_validator(mode="before")
    @classmethod
    def _zone_count_from_zone_ids(cls, data: Any) -> Any:
        """Zone ids given without availabilityZones say how many zones there are."""
        if not isinstance(data, dict):
            return data
        zone_ids = data.get("zoneIds", data.get("zone_ids"))
        counted = "availabilityZones" in data or "availability_zones" in data
        existing_vpc = data.get("vpcId", data.get("vpc_id")) is not None
        if isinstance(zone_ids, list) and 2 <= len(zone_ids) <= 6 and not counted and not existing_vpc:
            return {**data, "availabilityZones": len(zone_ids)}
        return data

    @field_validator("zone_ids")
    @classmethod
    def _usable_zone_ids(cls, zone_ids: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("vpc_id") is not None:
            return zone_ids  # _only_for_a_new_vpc says what to do
        if not 2 <= len(zone_ids) <= 6:
            raise ValueError(
                f"zoneIds lists {len(zone_ids)} AZ IDs; EKS needs subnets in two AZs at least and the subnet "
                "layout has room for six. Fix: list 2 to 6 AZ IDs"
            )
        for index, zone_id in enumerate(zone_ids):
            if zone_id in zone_ids[:index]:
                raise ValueError(
                    f"zoneIds[{index}] {zone_id} repeats zoneIds[{zone_ids.index(zone_id)}]. Fix: list each AZ once"
                )
            if zone_id in EKS_UNSUPPORTED_ZONE_IDS:
                raise ValueError(
                    f"zoneIds[{index}] {zone_id} is an AZ where EKS does not place clusters "
                    f"({', '.join(EKS_UNSUPPORTED_ZONE_IDS)}). Fix: use another AZ of the region"
                )
        regions = sorted({zone_id.rsplit("-az", 1)[0] for zone_id in zone_ids})
        if len(regions) > 1:
            raise ValueError(
                f"zoneIds name AZs of {len(regions)} regions ({', '.join(regions)}); a VPC is in one. "
                "Fix: list AZ IDs of the stack's region only (aws ec2 describe-availability-zones)"
            )
        return zone_ids

    @model_validator(mode="after")
    def _zone_ids_match_the_count(self) -> NetworkConfig:
        if self.zone_ids and len(self.zone_ids) != self.availability_zones:
            raise ValueError(
                f"zoneIds lists {len(self.zone_ids)} AZs but availabilityZones is {self.availability_zones}. "
                f"Fix: remove availabilityZones (the zone ids say how many), or list {self.availability_zones} "
                "zone ids"
            )
        return self

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
        key = to_camel(info.field_name or "")
        for index, subnet in enumerate(ids):
            if subnet in ids[:index]:
                raise ValueError(
                    f"{key}[{index}] {subnet} repeats {key}[{ids.index(subnet)}]. Fix: list each subnet once"
                )
        private = info.data.get("private_subnet_ids") or []
        if info.field_name == "public_subnet_ids":
            for index, subnet in enumerate(ids):
                if subnet in private:
                    raise ValueError(
                        f"publicSubnetIds[{index}] {subnet} is also privateSubnetIds[{private.index(subnet)}]: a "
                        "subnet is private (nodes, no route from the internet) or public (internet-facing load "
                        "balancers), never both. Fix: list it in one of the two"
                    )
        return ids

    @field_validator("cidr", "availability_zones", "single_nat_gateway", "zone_ids")
    @classmethod
    def _only_for_a_new_vpc(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("vpc_id") is not None:
            key = to_camel(info.field_name or "")
            raise ValueError(
                f"{key} only applies to a VPC Armful creates, but vpcId names an existing one. "
                f"Fix: remove {key}, or remove vpcId"
            )
        return value

    @field_validator("cidr", mode="before")
    @classmethod
    def _cidr_form(cls, cidr: Any) -> Any:
        return parse_cidr(cidr, "VPC cidr")

    @field_validator("cidr")
    @classmethod
    def _cidr_size(cls, cidr: IPv4Network) -> IPv4Network:
        _raise_for(unusable_vpc_block_problem(cidr), "use a private block such as 10.0.0.0/16")
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
    """One of your own applications, so the plan shows where it lands and what it needs."""

    name: str
    """The application's name."""
    images: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    """Every image its pods run."""
    arches: list[Arch] = Field(default_factory=list)
    """amd64 and/or arm64: the arches every image has."""
    requests: PodRequestsConfig | None = None
    """What each of its pods requests; with it, the plan counts the pods on the pools they land on."""
    replicas: Annotated[int, Field(ge=1, le=10000)] = 1
    """How many pods it runs (default 1), counted when requests are given."""

    @field_validator("name")
    @classmethod
    def _workload_name(cls, name: str) -> str:
        _raise_for(dns_label_problem(name, "workload name"), "name it as its Deployment is, like storefront")
        return name


class PoolDescriptionConfig(ConfigModel):
    """A node pool of a cluster Armful did not create, described by what its nodes carry."""

    name: str
    """The pool's name, as placement and errors show it."""
    role: PoolRole
    """system or workers. Exactly one pool is the system pool: the add-ons' controllers run there."""
    arch: Arch
    """amd64 or arm64: the architecture of every node in the pool."""
    labels: dict[str, str] = Field(default_factory=dict)
    """The labels the pool's nodes carry. The system pool's must include node.armful.dev/role: system, which every add-on controller selects."""
    taints: list[TaintConfig] = Field(default_factory=list)
    """The taints the pool's nodes carry, in Kubernetes form (effect NoSchedule, PreferNoSchedule or NoExecute)."""

    @field_validator("name")
    @classmethod
    def _pool_name(cls, name: str) -> str:
        # Nodes carry the name as a label value (node.armful.dev/pool, eks.amazonaws.com/nodegroup).
        _raise_for(label_value_name_problem(name, "pool name"), "give the node group's name, like platform")
        return name

    @field_validator("taints")
    @classmethod
    def _unique_taints(cls, taints: list[TaintConfig]) -> list[TaintConfig]:
        return check_unique_taints(taints)

    @field_validator("labels")
    @classmethod
    def _labels_match_the_pool(cls, labels: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # Nodes of any kind of node group: Kubernetes' rules, not those of EKS's node group API.
        _check_labels(labels, eks_node_group=False)
        arch, role = info.data.get("arch"), info.data.get("role")
        if arch is not None and labels.get(ARCH_LABEL, arch.value) != arch.value:
            raise ValueError(
                f"label {ARCH_LABEL}={labels[ARCH_LABEL]} contradicts arch {arch.value} (Kubernetes sets this "
                f"label from the node itself). Fix: correct arch, or remove the label from the description"
            )
        if role is None:
            return labels
        if role is PoolRole.SYSTEM and labels.get(ROLE_LABEL) != PoolRole.SYSTEM.value:
            raise ValueError(
                f"the system pool's nodes must carry the label {ROLE_LABEL}: system, which every add-on "
                f"controller selects. Fix: add {ROLE_LABEL}: system to the node group's labels and to this "
                "description"
            )
        if ROLE_LABEL in labels and labels[ROLE_LABEL] != role.value:
            raise ValueError(
                f"label {ROLE_LABEL}={labels[ROLE_LABEL]} contradicts role {role.value}, and would draw "
                f"add-on controllers onto it. Fix: set {ROLE_LABEL}: {role.value} or remove the label"
            )
        return labels


class PoolsConfig(ConfigModel):
    """A topology and its pools: all ``NodePools`` needs, on a cluster of Armful's or an existing one."""

    topology: Topology
    """arm-workers, all-arm or mixed: which architecture each role's pools may have."""
    preferred_arch: Arch | None = None
    """mixed only: arm64 (default) or amd64; pools of the other arch take only pods that opt in."""
    system_pool: PoolConfig
    """The pool for cluster-critical add-ons, tainted CriticalAddonsOnly."""
    worker_pools: list[PoolConfig] = Field(default_factory=list)
    """The pools that run applications: at least one, unless Karpenter's NodePools run them."""

    @field_validator("preferred_arch")
    @classmethod
    def _preferred_arch_only_for_mixed(cls, arch: Arch | None, info: ValidationInfo) -> Arch | None:
        topology = info.data.get("topology")
        if arch is not None and topology is not None and not topology.has_preferred_arch:
            preferring = ", ".join(t.value for t in Topology if t.has_preferred_arch)
            raise ValueError(
                f"preferredArch only applies to the {preferring} topology, not {topology.value}. "
                "Fix: remove preferredArch"
            )
        return arch

    @property
    def app_arch(self) -> Arch:
        """The arch apps land on unless they opt in to another."""
        return self.topology.app_arch(self.preferred_arch)

    def node_versions(self) -> NodeVersions | None:
        """The Kubernetes version and AMI release the pools' node groups run: known where the config names
        the cluster (stack config does), else given by whoever plans the pools."""
        return None


__all__ = [
    "ClusterConfig",
    "EndpointConfig",
    "NetworkConfig",
    "PoolConfig",
    "PoolDescriptionConfig",
    "PoolsConfig",
    "TaintConfig",
]
