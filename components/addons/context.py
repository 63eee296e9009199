"""What an add-on module's ``values`` function is given: the planned cluster, and values known later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from armful.addons.spec import AddonOptions
from armful.core.arch import Arch
from armful.core.pools import PoolPlan
from armful.core.topology import Topology

OptionsT = TypeVar("OptionsT", bound=AddonOptions)


@dataclass(frozen=True)
class DeployTime:
    """A value only ``pulumi up`` knows (a VPC id, a role ARN, a secret), shown in the plan by name.

    The Pulumi layer swaps each one for the matching Output before the values reach Helm.
    """

    name: str
    secret: bool = False

    def __str__(self) -> str:
        return f"<deploy-time: {self.name}>"


VPC_ID = DeployTime("vpc_id")
GRAFANA_ADMIN_PASSWORD = DeployTime("grafana_admin_password", secret=True)


@dataclass(frozen=True)
class AddonContext:
    topology: Topology
    pools: tuple[PoolPlan, ...]
    cluster_name: str
    region: str
    options: AddonOptions
    vpc_id: str | DeployTime = VPC_ID

    @property
    def cluster_arches(self) -> frozenset[Arch]:
        return frozenset(pool.arch for pool in self.pools)

    def options_as(self, options_type: type[OptionsT]) -> OptionsT:
        """This add-on's options as its own options class; plain options get that class's defaults."""
        if isinstance(self.options, options_type):
            return self.options
        return options_type.model_validate(self.options.model_dump())
