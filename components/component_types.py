"""The shapes Armful's components take and give, as TypedDicts: what Pulumi's component analyzer turns
into the package schema other languages see (``plugin/``).

Each input shape mirrors one pydantic model, the one definition that validates it (``armful.core.config``,
``armful.planning.stack_config``); ``tests/components/test_shape_parity.py`` fails on any drift in field
names, types, optionality or docs. Output shapes mirror what the plan gives (``PoolPlan.description``).

No ``from __future__ import annotations`` here: the analyzer reads these annotations at run time.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict


class TaintSpec(TypedDict):
    """A taint on a pool's nodes, in Kubernetes form."""

    key: str
    """The taint's key."""
    value: NotRequired[str]
    """The taint's value (default empty)."""
    effect: NotRequired[str]
    """NoSchedule (default), PreferNoSchedule or NoExecute."""


class NodeCapacitySpec(TypedDict):
    """One node's figures, for an instance type Armful's catalog does not know."""

    vcpus: int
    """vCPUs of the pool's smallest instance type."""
    memory_mib: int
    """Memory of the pool's smallest instance type, in MiB."""
    max_pods: int
    """The pods one node can hold (the VPC CNI's figure for the type: ENIs x (IPv4 per ENI - 1) + 2)."""


class PodRequestsSpec(TypedDict):
    """A pod's requests, summed over its containers, as Kubernetes quantities."""

    cpu: str
    """A CPU quantity such as 250m or 2."""
    memory: str
    """A memory quantity such as 512Mi or 2Gi."""


class PoolSpec(TypedDict):
    """A node pool Armful creates: one EKS managed node group of one architecture."""

    name: str
    """The pool's name: lowercase letters, digits and hyphens. Nodes carry it as node.armful.dev/pool."""
    instance_types: Sequence[str]
    """EC2 instance types, all of one architecture; the pool's arch is derived from them."""
    arch: NotRequired[str]
    """amd64 or arm64, only for instance families Armful's table does not know."""
    os_family: NotRequired[str]
    """AL2023 (default) or Bottlerocket."""
    capacity_type: NotRequired[str]
    """on-demand (default) or spot."""
    min_size: NotRequired[int]
    """Fewest nodes (default 2)."""
    max_size: NotRequired[int]
    """Most nodes (default 4)."""
    desired_size: NotRequired[int]
    """Nodes at creation (default: the minimum); later changes by an autoscaler are kept."""
    disk_size_gib: NotRequired[int]
    """Size of each node's encrypted gp3 data volume in GiB (default 50)."""
    labels: NotRequired[dict[str, str]]
    """Extra node labels, under a domain of your own (Armful sets node.armful.dev/* itself)."""
    taints: NotRequired[Sequence[TaintSpec]]
    """Extra taints (Armful adds CriticalAddonsOnly on the system pool and arch taints in mixed)."""
    node_capacity: NotRequired[NodeCapacitySpec]
    """Only for instance types Armful's catalog does not know: one node's vCPUs, memory and max pods."""


class TaintInfo(TypedDict):
    """A taint a pool's nodes carry, in Kubernetes form."""

    key: str
    """The taint's key."""
    value: str
    """The taint's value."""
    effect: str
    """NoSchedule, PreferNoSchedule or NoExecute."""


class PoolInfo(TypedDict):
    """A pool as its nodes carry it; the same shape ClusterAddons takes as a pool description."""

    name: str
    """The pool's name."""
    role: str
    """system or workers."""
    arch: str
    """amd64 or arm64."""
    labels: dict[str, str]
    """The labels EKS puts on the pool's nodes, Armful's node.armful.dev/pool and role included."""
    taints: list[TaintInfo]
    """The taints EKS puts on the pool's nodes."""


class PoolDescription(TypedDict):
    """A node pool of a cluster Armful did not create, described by what its nodes carry."""

    name: str
    """The pool's name, as placement and errors show it."""
    role: str
    """system or workers. Exactly one pool is the system pool: the add-ons' controllers run there."""
    arch: str
    """amd64 or arm64: the architecture of every node in the pool."""
    labels: NotRequired[dict[str, str]]
    """The labels the pool's nodes carry. The system pool's must include node.armful.dev/role: system, which every add-on controller selects."""
    taints: NotRequired[Sequence[TaintSpec]]
    """The taints the pool's nodes carry, in Kubernetes form (effect NoSchedule, PreferNoSchedule or NoExecute)."""


class EndpointSpec(TypedDict):
    """Who can reach the cluster's API server."""

    private_access: NotRequired[bool]
    """Must stay true (default): nodes and in-cluster add-ons reach the API server over the private endpoint."""
    public_access_cidrs: NotRequired[Sequence[str]]
    """CIDRs allowed to reach the public API endpoint; empty (default) turns the public endpoint off."""
    allow_public_internet: NotRequired[bool]
    """Must be true for the public access CIDRs to contain 0.0.0.0/0."""


class ClusterSpec(TypedDict):
    """The EKS control plane."""

    name: str
    """The EKS cluster's name."""
    kubernetes_version: NotRequired[str]
    """A Kubernetes minor version in EKS standard support (default 1.35)."""
    allow_extended_support: NotRequired[bool]
    """Accept a Kubernetes version past EKS standard support (billed extra)."""
    endpoint: NotRequired[EndpointSpec]
    """API endpoint access: private always, public only for listed CIDRs."""
    admin_principal_arns: NotRequired[Sequence[str]]
    """IAM roles or users given cluster-admin through EKS access entries."""
    bootstrap_creator_admin: NotRequired[bool]
    """Let EKS make whoever creates the cluster a cluster-admin outside adminPrincipalArns (EKS's own default). Off (default): only adminPrincipalArns administer the cluster, and pulumi up must run as one of them, since it installs the add-ons through the API server."""
    deletion_protection: NotRequired[bool]
    """EKS deletion protection (default true)."""
    tags: NotRequired[dict[str, str]]
    """Tags for the cluster."""
    node_ami_release: NotRequired[str]
    """pinned (default): each node group keeps the AMI release it was created with until kubernetesVersion changes (or a launch template change replaces its nodes); latest: every pulumi up moves the node groups to the newest release EKS publishes for their AMI type, replacing their nodes when it changes."""


class WorkloadSpec(TypedDict):
    """One of your own applications, so the plan shows where it lands and what it needs."""

    name: str
    """The application's name."""
    images: Sequence[str]
    """Every image its pods run."""
    arches: NotRequired[Sequence[str]]
    """amd64 and/or arm64: the arches every image has."""
    requests: NotRequired[PodRequestsSpec]
    """What each of its pods requests; with it, the plan counts the pods on the pools they land on."""
    replicas: NotRequired[int]
    """How many pods it runs (default 1), counted when requests are given."""


class NetworkSpec(TypedDict):
    """The VPC: one Armful creates (the default) or an existing one."""

    vpc_id: NotRequired[str]
    """An existing VPC; leave out to let Armful create one."""
    private_subnet_ids: NotRequired[Sequence[str]]
    """An existing VPC: at least two private subnets in different AZs, for the nodes."""
    public_subnet_ids: NotRequired[Sequence[str]]
    """An existing VPC: public subnets for internet-facing load balancers."""
    cidr: NotRequired[str]
    """A VPC Armful creates: its IPv4 block, /16 to /20 (default 10.0.0.0/16)."""
    availability_zones: NotRequired[int]
    """A VPC Armful creates: how many AZs, 2 to 6 (default 3)."""
    single_nat_gateway: NotRequired[bool]
    """A VPC Armful creates: one NAT gateway for all AZs, cheaper but one AZ's outage cuts egress."""
    zone_ids: NotRequired[Sequence[str]]
    """A VPC Armful creates: the AZ IDs of its subnets, in order, such as usw2-az1 (default: the region's first standard AZs EKS supports, by name, whatever their state); the count is availabilityZones."""


class ChartSourcesSpec(TypedDict):
    """Where the add-ons' Helm charts come from: mirrors of their repositories and a folder of archives, the digest each archive must have, and whether the charts are rendered and judged before any release is created."""

    repositories: NotRequired[dict[str, str]]
    """Mirrors: a repository Armful pins charts in (an https:// URL, or an oci:// prefix, as plan --format json lists them) to the https://, http:// or oci:// URL that serves the same charts. The longest key that covers a chart wins."""
    directory: NotRequired[str]
    """A folder of chart archives named <chart>-<version>.tgz, as helm pull names them (relative to the folder pulumi or armful runs in). A chart found there is read from it; one that is not is pulled only from a mirror in repositories, never from the internet."""
    digests: NotRequired[dict[str, str]]
    """The sha256:<hex> digest of each chart's archive, by chart name (e.g. kyverno): checked after every pull, on every cache hit and on every read from the folder; a mismatch stops plan --render and pulumi up."""
    render_at_deploy: NotRequired[bool]
    """pulumi preview and pulumi up render every chart with its final values and refuse to create any release whose pods the judgement fails (the default). false skips that, for a machine that cannot reach the charts; the releases are then not proven on Helm's output."""
