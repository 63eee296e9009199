"""What an add-on module's ``values`` function is given: the planned cluster, and values known later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from armful.addons.spec import AddonSpec, ValuesOverrides
from armful.core.arch import Arch
from armful.core.pools import PoolPlan

OptionsT = TypeVar("OptionsT", bound=ValuesOverrides)


@dataclass(frozen=True)
class DeployTime:
    """A value only ``pulumi up`` knows (a VPC id, a role ARN, a secret), shown in the plan by name.

    The Pulumi layer swaps each one for the matching Output before the values reach Helm.
    """

    name: str
    """The placeholder's name in the plan, and the component arg that supplies it."""
    secret_config_key: str | None = None
    """For a secret: its key under ``armful:`` in stack config (set with ``pulumi config set --secret``).
    A secret reaches Helm as a Pulumi secret and never passes through the plan in plain text."""

    @property
    def secret(self) -> bool:
        return self.secret_config_key is not None

    def __str__(self) -> str:
        return f"<deploy-time: {self.name}>"


VPC_ID = DeployTime("vpc_id")


@dataclass(frozen=True)
class AddonContext:
    pools: tuple[PoolPlan, ...]
    cluster_name: str
    region: str
    options: ValuesOverrides
    vpc_id: str | DeployTime = VPC_ID
    enabled_addons: tuple[AddonSpec, ...] = ()
    """Every add-on the plan installs, this one included (for add-ons that act on the others' pods)."""
    network_policies: bool = False
    """Whether Armful's NetworkPolicies are on (``armful:addons.networkPolicies``), which the VPC CNI enforces."""

    @property
    def cluster_arches(self) -> frozenset[Arch]:
        return frozenset(pool.arch for pool in self.pools)

    def options_as(self, options_type: type[OptionsT]) -> OptionsT:
        """This add-on's options as its own options class; plain options get that class's defaults."""
        if isinstance(self.options, options_type):
            return self.options
        return options_type.model_validate(self.options.model_dump())
