"""Reading a Pulumi stack file (``stacks/Pulumi.<stack>.yaml``) without Pulumi's engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.core.config import strip_namespace
from components.core.errors import ConfigIssue, StackConfigError

STACKS_DIR = Path(__file__).resolve().parents[2] / "stacks"


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    region: str | None
    armful: dict[str, Any]


def stack_file_path(stack: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path, stack: str | None = None) -> StackFile:
    """Parse the file and return its ``armful:`` keys; plain-text values only (no secrets needed)."""
    name = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    if not path.is_file():
        raise StackConfigError(
            [
                ConfigIssue(
                    str(path),
                    "no such stack file",
                    "give --stack NAME of a file in stacks/ or --stack-file PATH",
                )
            ]
        )
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackConfigError(
            [ConfigIssue(str(path), f"not valid YAML: {error}", "fix the YAML syntax")]
        ) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackConfigError(
            [
                ConfigIssue(
                    f"{path}: config", "the file has no config map", "put the stack's keys under config:"
                )
            ]
        )
    return StackFile(stack=name, path=path, region=config.get("aws:region"), armful=strip_namespace(config))
