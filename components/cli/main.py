"""Argument parsing and dispatch for ``armful <command>`` (and ``python -m armful``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from armful.cli.plan_command import run_plan
from armful.cli.readiness_command import add_arguments as add_readiness_arguments
from armful.cli.readiness_command import run_readiness
from armful.core.errors import StackConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="armful", description="Armful: EKS on Graviton, offline.")
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="validate a stack's config and show what pulumi up will build")
    _add_stack_arguments(plan, required=True)
    plan.add_argument(
        "--format",
        choices=("table", "json", "dot", "svg"),
        default="table",
        help="table for people, json for tools, dot (Graphviz) or svg for a picture of where everything lands",
    )
    plan.add_argument(
        "--render",
        action="store_true",
        help="pull each pinned chart (from armful:charts' mirrors or folder, checked against its digests) and "
        "prove placement on what Helm renders",
    )
    plan.add_argument(
        "--charts-from",
        type=Path,
        metavar="DIR",
        help="with --render: load each pinned chart from DIR/<chart>-<version>.tgz (in place of the stack's "
        "armful:charts.directory); one not there is pulled only from a mirror in armful:charts.repositories",
    )

    readiness = commands.add_parser(
        "readiness", help="read image platforms from registries: can each image run where the stack needs it?"
    )
    _add_stack_arguments(readiness, required=False)
    add_readiness_arguments(readiness)
    return parser


def _add_stack_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "--stack", help="a stack of the Pulumi project here (its stackConfigDir), e.g. arm-workers"
    )
    source.add_argument("--stack-file", type=Path, help="path to any Pulumi.<stack>.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "plan":
            return run_plan(args, sys.stdout)
        if args.command == "readiness":
            return run_readiness(args, sys.stdout)
    except StackConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 1
