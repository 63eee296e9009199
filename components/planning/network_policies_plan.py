"""The NetworkPolicy objects ``pulumi up`` applies for the planned releases, before anything exists.

Pure: built from the releases (their namespaces, values and options) and the flows each add-on declares
(``armful.addons.network_policies``). The control plane's and the nodes' addresses are the VPC's CIDR
blocks, known at deploy time: the objects hold one placeholder peer for them, which
:func:`with_vpc_cidrs` turns into one peer per block.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from armful.addons.config import AddonsConfig
from armful.addons.network_policies import (
    ANYWHERE_CIDR,
    BASELINE_EGRESS,
    CLUSTER_DNS_LABELS,
    CLUSTER_DNS_NAMESPACE,
    FLOWS,
    NAMESPACE_NAME_LABEL,
    POD_IDENTITY_AGENT_CIDR,
    POD_IDENTITY_EGRESS,
    VPC_CIDRS,
    Allow,
    Peer,
    Place,
    Pods,
    describe_ports,
)
from armful.addons.spec import AddonSpec
from armful.placement.workloads import Workload
from armful.planning.releases import ReleasePlan, placeholders, render_placeholders

BASELINE_NAME = "armful-baseline"
MANAGED_BY = {"app.kubernetes.io/managed-by": "armful"}


@dataclass(frozen=True)
class PlannedPolicy:
    """One NetworkPolicy and the release whose namespace (and pods) it is for."""

    release: str
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"]["namespace"])

    def to_json(self) -> dict[str, Any]:
        return {"release": self.release, "manifest": render_placeholders(self.manifest)}


@dataclass(frozen=True)
class _Selected:
    """An enabled workload of a planned release."""

    release: ReleasePlan
    workload: Workload


def plan_network_policies(releases: Sequence[ReleasePlan], addons: AddonsConfig) -> tuple[PlannedPolicy, ...]:
    """Every NetworkPolicy for these releases, or none while ``addons.networkPolicies`` is off."""
    if not addons.network_policies_enabled():
        return ()
    running = {
        (release.spec.release, workload.name): _Selected(release, workload)
        for release in releases
        for workload in release.spec.workloads
        if workload.runs(release.values)
    }
    policies: list[PlannedPolicy] = []
    for release in releases:
        spec = release.spec
        baseline = baseline_egress(release)
        if spec.create_namespace:
            policies.append(_baseline(spec, baseline))
        for flows in FLOWS.get(spec.release, ()):
            selected = running.get((spec.release, flows.workload))
            if selected is None:
                continue
            ingress = _rules(flows.ingress, running, "from")
            egress = _rules(flows.all_egress(addons.options_for(spec)), running, "to")
            if not spec.create_namespace:
                # A namespace that is not Armful's has no baseline: the pod's own policy carries it.
                egress = _rules(baseline, running, "to") + egress
            policy = _workload_policy(
                spec, selected.workload, ingress, egress, isolate=not spec.create_namespace
            )
            if policy is not None:
                policies.append(policy)
    return tuple(policies)


def baseline_egress(release: ReleasePlan) -> tuple[Allow, ...]:
    """DNS and HTTPS for every pod of the release; the Pod Identity agent only where it has an association."""
    if release.pod_identity is None:
        return BASELINE_EGRESS
    return (*BASELINE_EGRESS, POD_IDENTITY_EGRESS)


def _baseline(spec: AddonSpec, egress: tuple[Allow, ...]) -> PlannedPolicy:
    return PlannedPolicy(
        spec.release,
        _manifest(
            BASELINE_NAME,
            spec.namespace,
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": _rules(egress, {}, "to")},
        ),
    )


def _workload_policy(
    spec: AddonSpec,
    workload: Workload,
    ingress: list[dict[str, Any]],
    egress: list[dict[str, Any]],
    *,
    isolate: bool,
) -> PlannedPolicy | None:
    """A workload's own rules; ``isolate`` makes it isolate its pods both ways (no baseline does)."""
    types = [kind for kind, rules in (("Ingress", ingress), ("Egress", egress)) if rules or isolate]
    if not types:
        return None
    body: dict[str, Any] = {"podSelector": {"matchLabels": dict(workload.pod_labels)}, "policyTypes": types}
    if ingress:
        body["ingress"] = ingress
    if egress:
        body["egress"] = egress
    return PlannedPolicy(
        spec.release, _manifest(policy_name(spec.release, workload.name), spec.namespace, body)
    )


def policy_name(release: str, workload: str) -> str:
    """``armful-<release>-<workload>``, said once where one name holds the other
    (``armful-falcosidekick``, ``armful-aws-load-balancer-controller``)."""
    if workload.startswith(release):
        return f"armful-{workload}"
    if release.endswith(workload):
        return f"armful-{release}"
    return f"armful-{release}-{workload}"


def _manifest(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


def _rules(
    allows: Sequence[Allow], running: Mapping[tuple[str, str], _Selected], direction: str
) -> list[dict[str, Any]]:
    """One rule per allowance whose peer runs; an allowance of a workload that does not run is dropped."""
    rules = []
    for allow in allows:
        peer = _peer(allow.peer, running)
        if peer is None:
            continue
        rule: dict[str, Any] = {direction: [peer]}
        if allow.ports:
            rule["ports"] = describe_ports(allow.ports)
        rules.append(rule)
    return rules


def _peer(peer: Peer, running: Mapping[tuple[str, str], _Selected]) -> dict[str, Any] | None:
    if isinstance(peer, Pods):
        selected = running.get((peer.release, peer.workload))
        if selected is None:
            return None
        return {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: selected.release.spec.namespace}},
            "podSelector": {"matchLabels": dict(selected.workload.pod_labels)},
        }
    if peer in (Place.CONTROL_PLANE, Place.NODES):
        return {"ipBlock": {"cidr": VPC_CIDRS}}
    if peer is Place.ANYWHERE:
        return {"ipBlock": {"cidr": ANYWHERE_CIDR}}
    if peer is Place.POD_IDENTITY_AGENT:
        return {"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}
    if peer is Place.EVERY_POD:
        return {"namespaceSelector": {}}
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: CLUSTER_DNS_NAMESPACE}},
        "podSelector": {"matchLabels": dict(CLUSTER_DNS_LABELS)},
    }


def with_vpc_cidrs(manifest: Mapping[str, Any], cidrs: Sequence[str]) -> dict[str, Any]:
    """The manifest with each VPC placeholder peer replaced by one ipBlock peer per CIDR block."""
    if not cidrs:
        raise ValueError("the VPC has no IPv4 CIDR block: the control plane's address is unknown")
    result = copy.deepcopy(dict(manifest))
    for direction, key in (("ingress", "from"), ("egress", "to")):
        for rule in result["spec"].get(direction, ()):
            peers = []
            for peer in rule[key]:
                if peer.get("ipBlock", {}).get("cidr") == VPC_CIDRS:
                    peers += [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]
                else:
                    peers.append(peer)
            rule[key] = peers
    return result


def needs_vpc_cidrs(policies: Sequence[PlannedPolicy]) -> bool:
    """Whether any policy names the VPC's blocks (the control plane or the nodes), which only the VPC tells."""
    return any(VPC_CIDRS in placeholders(policy.manifest) for policy in policies)


def vpc_cidr_blocks(primary: str | None, associations: Sequence[tuple[str, str]]) -> list[str]:
    """A VPC's IPv4 blocks as EC2 describes them: the primary and every associated (or associating) one,
    each once, in order. ``associations`` are ``(cidr_block, state)`` pairs."""
    blocks = [primary] if primary else []
    blocks += [cidr for cidr, state in associations if state in ("associated", "associating")]
    return list(dict.fromkeys(blocks))
