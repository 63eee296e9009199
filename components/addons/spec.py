"""The data an add-on module declares: its chart, options, AWS access and the workloads it runs.

The workloads themselves are placement's shape (``armful.placement.workloads``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from armful.core.config_base import ConfigModel
from armful.core.errors import describe_pattern
from armful.placement.workloads import Condition, ValuesPath, Workload

if TYPE_CHECKING:
    from armful.addons.context import AddonContext, DeployTime


class ValuesOverrides(ConfigModel):
    """What every add-on takes in stack config: overrides of the values Armful gives it."""

    values: dict[str, Any] = Field(default_factory=dict)


class AddonOptions(ValuesOverrides):
    """A Helm add-on's options: an enable flag besides its values overrides."""

    enabled: bool = True


EKS_ADDON_VERSION = describe_pattern(
    r"^v\d+\.\d+\.\d+-eksbuild\.\d+$",
    "an EKS add-on version, as aws eks describe-addon-versions lists them",
    "v1.20.4-eksbuild.2",
)


class ManagedAddonVersion(ConfigModel):
    """An EKS managed add-on's version: EKS's default for the cluster's Kubernetes version unless pinned."""

    version: Annotated[str | None, Field(pattern=EKS_ADDON_VERSION)] = None
    """A version to pin instead of EKS's default for the cluster's Kubernetes version."""

    @property
    def values(self) -> dict[str, Any]:
        """No configuration values: the add-on's own defaults (or pulumi-eks') stand."""
        return {}


class ManagedAddonOptions(ValuesOverrides):
    """An EKS managed add-on's version and overrides of its configuration values."""

    version: Annotated[str | None, Field(pattern=EKS_ADDON_VERSION)] = None
    """A version to pin instead of EKS's default for the cluster's Kubernetes version."""


@dataclass(frozen=True)
class PolicyScope:
    """Where a Pod Identity role is used: what a policy needs to name this cluster's own resources."""

    partition: str
    region: str
    account_id: str
    """The account the stack deploys into (the caller's identity)."""
    cluster_name: str
    vpc_id: str | None = None
    """The cluster's VPC, for a policy that confines network changes to it (None where none does)."""

    @property
    def cluster_arn(self) -> str:
        return f"arn:{self.partition}:eks:{self.region}:{self.account_id}:cluster/{self.cluster_name}"


@dataclass(frozen=True)
class PodIdentity:
    """AWS access for one service account through EKS Pod Identity."""

    service_account: str
    managed_policies: tuple[str, ...] = ()
    inline_policy: Callable[[str], dict[str, Any]] | None = None
    """Given the AWS partition, the policy document; None when managed policies suffice."""
    scoped_inline_policy: Callable[[PolicyScope], dict[str, Any]] | None = None
    """Given the partition, region, account, cluster and VPC, the policy document: for a policy that
    names this cluster's own resources. Either this or ``inline_policy``, not both."""
    applies: Callable[[AddonOptions], bool] | None = None
    """Whether the add-on needs AWS access with these options; None when it always does."""


@dataclass(frozen=True)
class UndeclaredWorkload:
    """A pod template an option of the chart renders that Armful does not declare, so ``plan`` can neither
    place it, count its requests nor check its images: turning it on is an error unless a render proves it."""

    what: str
    """What it is, for the message: ``"the Thanos Ruler StatefulSet"``."""
    enabled_if: tuple[Condition, ...]
    """What the chart's template tests before rendering it."""
    keys: str
    """Where its own nodeSelector and tolerations sit, for the fix (``thanosRuler.thanosRulerSpec``)."""
    templates: tuple[str, ...] = ()
    """The chart's template files that render it, from the chart's root."""


@dataclass(frozen=True)
class ChartRefusal:
    """Values the chart's templates refuse with ``fail``: Helm stops the install with ``message``."""

    refused_if: tuple[Condition, ...]
    message: str
    """The chart's own words."""
    at: ValuesPath
    """The key to name and change."""
    fix: str
    template: str
    """The template file that refuses them, from the chart's root."""


@dataclass(frozen=True)
class AddonSpec:
    key: str
    """The add-on's key under ``armful:addons`` in stack config (camelCase)."""
    release: str
    namespace: str
    chart: str
    repository: str
    version: str
    workloads: tuple[Workload, ...]
    values: Callable[[AddonContext], dict[str, Any]]
    """The chart-specific values Armful sets, placement excluded."""
    summary: str = ""
    options: type[AddonOptions] = AddonOptions
    enabled_by_default: bool = True
    needs: tuple[str, ...] = ()
    """Releases this one waits for (the CRDs it uses); everything else installs in parallel."""
    pod_identity: PodIdentity | None = None
    free_form_paths: tuple[str, ...] = ()
    """Values paths whose contents are maps the chart does not enumerate (label maps, extra args)."""
    chart_dir: str = ""
    """The folder of this chart version's default values in shared/charts."""
    subcharts: Mapping[str, str] = field(default_factory=dict)
    """Subchart name (its values key in this chart) → the folder of its default values in shared/charts."""
    create_namespace: bool = True
    log_group: Callable[[str, AddonOptions], LogGroup] | None = None
    """A CloudWatch log group Armful creates for the add-on, from the cluster name and options."""
    secrets: tuple[DeployTime, ...] = ()
    """Secret values its chart needs, each read from stack config or given as a component arg."""
    gates_other_releases: bool = False
    """Its admission webhook sees other releases' objects and fails closed: the others wait for it."""
    claims_volumes: bool = False
    """Its workloads claim persistent volumes: it waits for the StorageClass (and the CSI driver behind
    it), which no other release waits for."""
    undeclared: tuple[UndeclaredWorkload, ...] = ()
    """What the chart's options can turn on that ``workloads`` does not declare."""
    refusals: tuple[ChartRefusal, ...] = ()
    """Values the chart's templates refuse, each with the chart's own message."""


def chart_reference(chart: str, repository: str | None) -> str:
    """What Helm's pull takes: an OCI repository names the chart itself (``oci://host/path/chart``),
    an HTTP repository is given separately; ``chart`` alone for a local path.
    """
    if repository and repository.startswith("oci://"):
        base = repository.rstrip("/")
        return base if base.rsplit("/", 1)[-1] == chart else f"{base}/{chart}"
    return chart


@dataclass(frozen=True)
class LogGroup:
    name: str
    retention_days: int
