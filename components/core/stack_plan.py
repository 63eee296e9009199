"""From a stack's name or file to its plan: the one entry the CLI and tests share."""

from __future__ import annotations

from pathlib import Path

from components.core.config import parse_stack_config
from components.core.plan import Plan, build_plan
from components.core.stack_file import read_stack_file, stack_file_path


def plan_stack(stack: str | None = None, stack_file: Path | None = None) -> Plan:
    path = stack_file if stack_file is not None else stack_file_path(stack or "")
    document = read_stack_file(path, stack)
    config = parse_stack_config(document.armful)
    return build_plan(document.stack, config, region=document.region or "")
