"""Argument parsing and dispatch for ``python -m components <command>``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from components.cli.plan_command import run_plan
from components.core.errors import StackConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components", description="Armful: EKS on Graviton, offline."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="validate a stack's config and show what pulumi up will build")
    _add_stack_arguments(plan, required=True)
    plan.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def _add_stack_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--stack", help="a stack in stacks/, e.g. arm-workers")
    source.add_argument("--stack-file", type=Path, help="path to any Pulumi.<stack>.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "plan":
            return run_plan(args, sys.stdout)
    except StackConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return 1
