"""``plan``: the offline plan of a stack, as a table for people or JSON for tools (design §6)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

import yaml

from armful.cli.plan_graph import GraphvizFailed, GraphvizMissing, plan_dot, render_svg
from armful.cli.progress import terminal_progress
from armful.cli.tables import render_table
from armful.core.arch import Arch
from armful.core.pools import PoolRole
from armful.placement.app_placement import arch_placement, pool_placement
from armful.planning.capacity import Room
from armful.planning.network_plan import network_description, network_lines
from armful.planning.plan import Plan, Verdict
from armful.planning.stack_plan import plan_stack
from armful.render.command import render_json, render_plan, render_report
from armful.render.helm import HelmSdkMissing

# Exit status when every finding is fine but some chart could not be rendered: not proven, not failed.
RENDER_INCOMPLETE = 3


def run_plan(args: argparse.Namespace, out: TextIO) -> int:
    plan = plan_stack(stack=args.stack, stack_file=args.stack_file)
    rendered, render_findings, notes = [], [], []
    if args.render:
        try:
            progress = terminal_progress(
                sys.stderr, label="charts rendered", enabled=args.format == "table", verb="rendering "
            )
            rendered, render_findings, notes = render_plan(
                plan, on_progress=progress, charts_from=args.charts_from
            )
        except HelmSdkMissing as error:
            print(error, file=sys.stderr)
            return 2
        # A release whose every rendered pod template is placed proves what its values turn on beyond
        # Armful's declarations.
        plan = plan.proven_by_render(
            {
                release.name
                for release in rendered
                if not any(f.level.value == "error" for p in release.placements for f in p.findings)
            }
        )
    unproven = (
        f"{len(rendered)} of {len(plan.releases)} charts rendered"
        if args.render and len(rendered) < len(plan.releases)
        else None
    )
    verdict = plan.verdict(render_findings, unproven)
    if args.format in ("dot", "svg"):
        graph = plan_dot(plan)
        if args.format == "svg":
            try:
                graph = render_svg(graph).decode("utf-8")
            except (GraphvizMissing, GraphvizFailed) as error:
                print(error, file=sys.stderr)
                return 2
        out.write(graph)
    elif args.format == "json":
        document = {**plan.to_json(), "verdict": verdict.to_json()}
        if args.render:
            document.update(render_json(rendered, render_findings, notes))
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        out.write(plan_table(plan, verdict))
        if args.render:
            out.write(render_report(rendered, render_findings, notes))
    if plan.has_errors or any(finding.level.value == "error" for finding in render_findings):
        return 1
    if args.render and len(rendered) < len(plan.releases):
        return RENDER_INCOMPLETE
    return 0


# pulumi up installs the add-ons through the API server, so it must reach the private endpoint.
_PRIVATE_ONLY = "off (run pulumi up and kubectl from inside the VPC, or over a VPN or peering to it)"


def network_policies_line(plan: Plan) -> str:
    if not plan.config.addons.network_policies_enabled():
        return "  network policies: off (armful:addons.networkPolicies.enabled: false): no NetworkPolicy, vpc-cni enforces none"
    namespaces = sorted({policy.namespace for policy in plan.network_policies})
    return (
        f"  network policies: on, enforced by the VPC CNI; {len(plan.network_policies)} NetworkPolicies let "
        f"Armful's pods in {', '.join(namespaces)} send and receive only what their add-ons need"
    )


def plan_table(plan: Plan, verdict: Verdict | None = None) -> str:
    config = plan.config
    lines = [
        (verdict or plan.verdict()).line,
        "",
        f"Stack {plan.stack}: topology {plan.topology.value} ({plan.topology.summary}), region {plan.region}",
        f"Cluster {config.cluster.name}, Kubernetes {config.cluster.kubernetes_version}, "
        f"public endpoint: {', '.join(map(str, config.cluster.endpoint.public_access_cidrs)) or _PRIVATE_ONLY}",
        "",
        "Network",
        *network_lines(network_description(config.network)),
        network_policies_line(plan),
        "",
        "Node pools",
        render_table(
            ("pool", "role", "arch", "instance types", "AMI type", "capacity", "min/desired/max", "taints"),
            [
                (
                    pool.name,
                    pool.role.value,
                    pool.arch.value,
                    ", ".join(pool.instance_types),
                    pool.ami_type,
                    pool.capacity_type.value,
                    f"{pool.min_size}/{pool.desired_size}/{pool.max_size}",
                    ", ".join(map(str, pool.taints)) or "-",
                )
                for pool in plan.managed_pools
            ]
            + [
                (
                    node_pool.name,
                    "workers",
                    node_pool.arch.value,
                    f"Karpenter: {node_pool.selection()}",
                    f"EC2NodeClass {node_pool.node_class}",
                    ", ".join(capacity.value for capacity in node_pool.capacity_types),
                    f"up to {node_pool.config.limits.cpu} vCPU, {node_pool.config.limits.memory}",
                    ", ".join(map(str, node_pool.taints)) or "-",
                )
                for node_pool in plan.node_pools
            ],
        ),
        *_node_versions(plan),
    ]
    lines += ["", "Add-ons (Helm releases and EKS managed add-ons): where each workload lands"]
    lines.append(
        render_table(
            ("release", "chart", "version", "namespace", "workload", "kind", "replicas", "pools"),
            [
                (
                    entry.release,
                    *(_EKS_ADDON if entry.eks_managed else _chart_of(plan, entry.release)),
                    entry.namespace,
                    entry.workload,
                    entry.kind,
                    "every node" if entry.replicas is None else str(entry.replicas),
                    ", ".join(entry.pools) or "NONE",
                )
                for entry in plan.placement
            ],
        )
    )
    lines += [
        "",
        "Capacity at each pool's minimum size (requests against allocatable, node agents on every node)",
    ]
    lines.append(
        render_table(
            ("pool", "nodes", "allocatable", "requested", "agents per node", "headroom", "pods", "fits"),
            [
                (
                    pool.pool.name,
                    f"{pool.at_min.nodes} x {pool.pool.node_instance_type}",
                    _cores_and_gib(pool.allocatable),
                    _cores_and_gib(pool.requested),
                    _cores_and_gib(pool.per_node),
                    _cores_and_gib(pool.headroom),
                    f"{pool.requested.pods}/{pool.allocatable.pods}",
                    "yes" if not pool.at_min.unplaced else "NO",
                )
                for pool in plan.capacity
            ],
        )
    )
    if plan.elastic_capacity:
        lines += [
            "",
            "Karpenter NodePools: nodes launched for pending pods, up to the limits on their capacity (pods that "
            "can land nowhere else, or find no room on the managed pools, count against them)",
            render_table(
                ("NodePool", "largest node", "agents per node", "must take", "limits"),
                [
                    (
                        pool.node_pool.name,
                        f"{pool.largest_instance_type}: {_cores_and_gib(pool.largest_node)}",
                        _cores_and_gib(pool.per_node),
                        f"{_cores_and_gib(pool.packed.requested)} on {pool.packed.nodes} x "
                        f"{pool.packed.instance_type} ({_cores_and_gib(pool.packed.capacity)} of capacity)"
                        if pool.packed
                        else "-",
                        f"{pool.node_pool.config.limits.cpu} vCPU / {pool.node_pool.config.limits.memory}",
                    )
                    for pool in plan.elastic_capacity
                ],
            ),
        ]
    workers = [pool for pool in plan.capacity if pool.pool.role is PoolRole.WORKERS]
    if workers:
        lines += ["", "Room for applications on each worker node, after the node agents"]
        lines += [
            f"  {pool.pool.name} ({pool.pool.arch.value}, {pool.pool.node_instance_type}): "
            f"{_cores_and_gib(pool.room_for_apps)}, {pool.room_for_apps.pods} pods "
            f"(node agents take {_cores_and_gib(pool.per_node)}, {pool.per_node.pods} pods)"
            for pool in workers
        ]
    lines += ["", "Landing an application on a worker pool (paste into the pod template)"]
    for pool in plan.worker_pools:
        lines.append(f"  {pool.name} ({pool.arch.value}):")
        lines += _indented(pool_placement(pool).to_json())
    if plan.topology.has_preferred_arch:
        other = next(arch for arch in Arch if arch is not plan.config.app_arch)
        any_other = arch_placement(plan.pools, other)
        if any_other is not None:
            preferred = plan.config.app_arch.value
            lines.append(
                f"  any {other.value} pool you have not tainted (apps without an {preferred} build):"
            )
            lines += _indented(any_other.to_json())
    if plan.workloads:
        lines += ["", "Your workloads"]
        for workload in plan.workloads:
            arches = (
                ", ".join(sorted(a.value for a in workload.arches))
                if workload.arches is not None
                else "unknown"
            )
            lands = ", ".join(workload.pools) or "NO POOL"
            lines.append(f"  {workload.name}: images {', '.join(workload.images)} ({arches}) -> {lands}")
            if workload.placement is not None:
                lines += _indented(workload.placement.to_json())
    lines += ["", "Findings"]
    lines += [
        f"  {finding.level.value}: [{finding.code}] {finding.message}" for finding in plan.findings
    ] or ["  none: every pod passes the scheduler's filters and fits at each pool's minimum size"]
    return "\n".join(lines) + "\n"


# EKS installs its managed add-ons at the version it picks for the cluster's Kubernetes version.
_EKS_ADDON = ("EKS managed add-on", "EKS default")


def _chart_of(plan: Plan, release: str) -> tuple[str, str]:
    for candidate in plan.releases:
        if candidate.spec.release == release:
            return candidate.spec.chart, candidate.spec.version
    return "-", "-"


def _node_versions(plan: Plan) -> list[str]:
    """Both versions every node runs: the cluster's Kubernetes version and the AMI release, and when it moves."""
    versions = {pool.versions for pool in plan.pools if pool.versions is not None}
    if not versions:
        return []
    (chosen,) = versions
    moves = (
        "the newest EKS publishes, on every pulumi up"
        if chosen.ami_release.value == "latest"
        else "the one EKS publishes when a node group is created or its nodes are replaced, kept until "
        "kubernetesVersion changes (cluster.nodeAmiRelease: latest to patch)"
    )
    parameters = sorted({pool.release_parameter for pool in plan.pools if pool.release_parameter})
    return [
        "",
        f"Nodes run Kubernetes {chosen.kubernetes_version}; AMI release: {moves}, read from "
        + ", ".join(parameters),
    ]


def _cores_and_gib(room: Room) -> str:
    return f"{room.cpu / 1000:.2f} vCPU / {room.memory / 1024:.1f} GiB"


def _indented(values: dict) -> list[str]:
    text = yaml.safe_dump(values, default_flow_style=None, sort_keys=False, width=200).rstrip()
    return ["      " + line for line in text.splitlines()]
