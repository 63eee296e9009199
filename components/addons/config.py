"""``armful:addons``: each add-on's enable flag, options and values overrides, keyed as in the registry."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, create_model, model_validator
from pydantic.alias_generators import to_snake

from armful.addons.eks_managed import MANAGED_ADDONS, VPC_CNI, ManagedAddonSpec
from armful.addons.registry import ADDONS
from armful.addons.spec import AddonSpec, ValuesOverrides
from armful.core.config_base import ConfigModel

NETWORK_POLICIES_KEY = "networkPolicies"
NETWORK_POLICY_MIN_VPC_CNI = "v1.14.0-eksbuild.3"
"""The first vpc-cni add-on version whose configuration values take ``enableNetworkPolicy`` (EKS user guide)."""


def _add_on_version_key(version: str) -> tuple[int, ...]:
    """``v1.20.4-eksbuild.2`` → (1, 20, 4, 2): EKS add-on versions in their order."""
    return tuple(int(number) for number in re.findall(r"\d+", version))


class NetworkPoliciesConfig(ConfigModel):
    """NetworkPolicies for the add-ons' pods, enforced by the VPC CNI's network policy agent."""

    enabled: bool = True
    """On (default): the VPC CNI enforces network policies, and every namespace Armful creates (and Armful's pods in kube-system) admits only the flows its add-ons need; off: no NetworkPolicy, and the VPC CNI's network policy support stays off."""


class _AddonsBase(ConfigModel):
    def options_for(self, spec: AddonSpec | ManagedAddonSpec) -> ValuesOverrides:
        return getattr(self, to_snake(spec.key))

    def enabled(self) -> list[AddonSpec]:
        return [spec for spec in ADDONS if self.options_for(spec).enabled]

    def helm_args(self) -> dict[str, Any]:
        """The Helm add-ons' options and the network policy switch, as ClusterAddons takes them (camelCase
        keys)."""
        return {
            **{spec.key: self.options_for(spec).model_dump(by_alias=True) for spec in ADDONS},
            NETWORK_POLICIES_KEY: getattr(self, to_snake(NETWORK_POLICIES_KEY)).model_dump(by_alias=True),
        }

    def network_policies_enabled(self) -> bool:
        return bool(getattr(self, to_snake(NETWORK_POLICIES_KEY)).enabled)

    def managed_args(self) -> dict[str, Any]:
        """The options of the EKS managed add-ons EksManagedAddons installs, as it takes them (camelCase
        keys); vpc-cni's and kube-proxy's go to the cluster, which creates them."""
        return {
            spec.key: self.options_for(spec).model_dump(by_alias=True)
            for spec in MANAGED_ADDONS
            if not spec.installed_with_cluster
        }

    def managed_version(self, spec: ManagedAddonSpec) -> str | None:
        """The version pinned for an EKS managed add-on, or None for EKS's default."""
        return self.options_for(spec).version

    @model_validator(mode="after")
    def _vpc_cni_enforces_policies(self) -> _AddonsBase:
        pinned = self.managed_version(VPC_CNI)
        if not self.network_policies_enabled() or pinned is None:
            return self
        if _add_on_version_key(pinned) < _add_on_version_key(NETWORK_POLICY_MIN_VPC_CNI):
            raise ValueError(
                f"vpcCni.version {pinned} cannot enforce NetworkPolicies (vpc-cni {NETWORK_POLICY_MIN_VPC_CNI} is "
                f"the first that can), and networkPolicies is on. Fix: pin {NETWORK_POLICY_MIN_VPC_CNI} or later "
                "(or leave vpcCni.version out for EKS's default), or set networkPolicies.enabled: false"
            )
        return self

    @model_validator(mode="after")
    def _needs_are_enabled(self) -> _AddonsBase:
        enabled = {spec.release for spec in self.enabled()}
        for spec in self.enabled():
            for needed in spec.needs:
                if needed not in enabled:
                    needed_key = next(s.key for s in ADDONS if s.release == needed)
                    raise ValueError(
                        f"{spec.key} needs {needed_key} (it uses {needed}'s CRDs), which is disabled. "
                        f"Fix: enable addons.{needed_key}, or set addons.{spec.key}.enabled: false"
                    )
        return self


def _default_options(spec: AddonSpec) -> Any:
    return lambda: spec.options(enabled=spec.enabled_by_default)


AddonsConfig = create_model(  # type: ignore[call-overload]
    "AddonsConfig",
    __base__=_AddonsBase,
    **{
        to_snake(spec.key): (
            spec.options,
            Field(default_factory=_default_options(spec), description=spec.summary),
        )
        for spec in ADDONS
    },
    **{
        to_snake(spec.key): (
            spec.options,
            Field(default_factory=spec.options, description=spec.summary),
        )
        for spec in MANAGED_ADDONS
    },
    **{
        to_snake(NETWORK_POLICIES_KEY): (
            NetworkPoliciesConfig,
            Field(default_factory=NetworkPoliciesConfig, description=NetworkPoliciesConfig.__doc__),
        )
    },
)
