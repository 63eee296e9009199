"""``plan``: the offline plan of a stack, as a table for people or JSON for tools (design §6)."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from components.cli.tables import render_table
from components.core.plan import Plan
from components.core.stack_plan import plan_stack


def run_plan(args: argparse.Namespace, out: TextIO) -> int:
    plan = plan_stack(stack=args.stack, stack_file=args.stack_file)
    if args.format == "json":
        json.dump(plan.to_json(), out, indent=2)
        out.write("\n")
    else:
        out.write(plan_table(plan))
    return 1 if plan.has_errors else 0


def plan_table(plan: Plan) -> str:
    config = plan.config
    lines = [
        f"Stack {plan.stack}: topology {plan.topology.value} ({plan.topology.summary}), region {plan.region}",
        f"Cluster {config.cluster.name}, Kubernetes {config.cluster.kubernetes_version}, "
        f"public endpoint: {', '.join(map(str, config.cluster.endpoint.public_access_cidrs)) or 'off'}",
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
                for pool in plan.pools
            ],
        ),
    ]
    if plan.findings:
        lines += ["", "Findings"]
        lines += [f"  {finding.level.value}: [{finding.code}] {finding.message}" for finding in plan.findings]
    return "\n".join(lines) + "\n"
