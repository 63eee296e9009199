"""Reading a Pulumi stack file (``stacks/Pulumi.<stack>.yaml``) without Pulumi's engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from armful.core.errors import ConfigIssue, StackConfigError
from armful.planning.stack_config import strip_namespace

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    region: str | None
    armful: dict[str, Any]


def stack_file_path(stack: str, start: Path | None = None) -> Path:
    """Where Pulumi keeps stack ``stack``'s config: ``Pulumi.<stack>.yaml`` in the ``stackConfigDir`` of
    the Pulumi project in ``start`` (default: the current directory) or the nearest folder above it that
    has a ``Pulumi.yaml``, as the Pulumi CLI finds its project. Wherever Armful itself is installed."""
    folder = (start or Path.cwd()).resolve()
    project = next(
        (d / name for d in (folder, *folder.parents) for name in PROJECT_FILES if (d / name).is_file()), None
    )
    if project is None:
        raise StackConfigError(
            [
                ConfigIssue(
                    "--stack",
                    f"no Pulumi project ({PROJECT_FILES[0]}) in {folder} or any folder above it, so stack "
                    f"{stack!r} has no stack file to read",
                    "run from your Pulumi project's folder, or give --stack-file PATH",
                )
            ]
        )
    try:
        settings = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise StackConfigError(
            [ConfigIssue(str(project), f"not valid YAML: {error}", "fix the project file's syntax")]
        ) from None
    config_dir = settings.get("stackConfigDir") if isinstance(settings, dict) else None
    base = project.parent / config_dir if isinstance(config_dir, str) and config_dir else project.parent
    # A fully qualified name (org/project/stack) keeps its config under the stack's own name.
    return base / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def read_stack_file(path: Path, stack: str | None = None) -> StackFile:
    """Parse the file and return its ``armful:`` keys; plain-text values only (no secrets needed)."""
    name = stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    if not path.is_file():
        raise StackConfigError(
            [
                ConfigIssue(
                    str(path),
                    "no such stack file",
                    "give --stack NAME of a stack in the Pulumi project's stackConfigDir, or --stack-file PATH",
                )
            ]
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as error:
        raise StackConfigError(
            [
                ConfigIssue(
                    str(path),
                    f"byte {error.start} is not UTF-8 ({error.reason})",
                    "save the file as UTF-8, as Pulumi reads it",
                )
            ]
        ) from None
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
