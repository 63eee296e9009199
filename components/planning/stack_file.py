"""Reading a Pulumi stack file (``stacks/Pulumi.<stack>.yaml``) without Pulumi's engine.

The file is read by Armful's one YAML loader (``armful.core.safe_yaml``: size, UTF-8, repeated keys,
aliases) and its ``config:`` turned into what Pulumi hands the stack program for it: every value a
string (a scalar as written, ``1.30`` staying ``"1.30"``), maps and lists as the data the program decodes
from the JSON Pulumi writes, and the keys set with ``--secret`` (``{secure: ...}``) known by name. ``plan`` then reads that through the same
function the program does (``stack_config.stack_config_from_pulumi``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from armful.core import safe_yaml
from armful.core.errors import ConfigIssue, StackConfigError

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
_INT64 = 2**63
_UINT64 = 2**64


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    """Every config key (namespaced), its value as Pulumi gives it to the program: a string, or for a
    map or list its data (what the program decodes from Pulumi's JSON)."""
    secret_keys: frozenset[str] = frozenset()
    """The keys set with ``--secret``, whose values the plan never sees."""


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
    settings = safe_yaml.load(_read_bytes(project), str(project)) or {}
    config_dir = settings.get("stackConfigDir") if isinstance(settings, dict) else None
    base = project.parent / config_dir if isinstance(config_dir, str) and config_dir else project.parent
    # A fully qualified name (org/project/stack) keeps its config under the stack's own name.
    return base / f"Pulumi.{stack.rsplit('/', 1)[-1]}.yaml"


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            # One byte past the limit is enough to refuse the file without reading all of it.
            return file.read(safe_yaml.MAX_BYTES + 1)
    except OSError as error:
        problem = f"cannot be read: {error.strerror or error}"
        raise StackConfigError(
            [ConfigIssue(str(path), problem, "check the path and its permissions")]
        ) from None


def read_stack_file(path: Path, stack: str | None = None) -> StackFile:
    """Parse the file into the config Pulumi would hand the program; secrets stay encrypted and unread."""
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
    source = str(path)
    root = safe_yaml.compose(_read_bytes(path), source)
    config_node = None
    if isinstance(root, MappingNode):
        configs = [
            value for key, value in root.value if isinstance(key, ScalarNode) and key.value == "config"
        ]
        config_node = configs[0] if configs else None
    if not isinstance(config_node, MappingNode):
        issue = ConfigIssue(
            f"{path}: config", "the file has no config map", "put the stack's keys under config:"
        )
        raise StackConfigError([issue])
    config, secret_keys, issues = _pulumi_config(config_node, source)
    if issues:
        raise StackConfigError(issues)
    return StackFile(stack=name, path=path, config=config, secret_keys=frozenset(secret_keys))


def _pulumi_config(node: MappingNode, source: str) -> tuple[dict[str, Any], set[str], list[ConfigIssue]]:
    """The config map as Pulumi's CLI makes it (``resource/config.Value``) from the YAML nodes."""
    config: dict[str, Any] = {}
    secrets: set[str] = set()
    issues: list[ConfigIssue] = []
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        raw_key = key_node.value if isinstance(key_node, ScalarNode) else ""
        namespace, colon, name = raw_key.partition(":")
        if not (namespace and colon and name):
            issues.append(
                ConfigIssue(
                    f"{source}: line {line}",
                    f"config key {raw_key!r} has no namespace, and Pulumi refuses the file",
                    f"write it as armful:{raw_key or '<name>'} (or aws:... for the AWS provider's keys)",
                )
            )
            continue
        # Pulumi still reads the old "<namespace>:config:<name>" form as "<namespace>:<name>".
        key = f"{namespace}:{name.removeprefix('config:')}"
        value, secret, problem = _pulumi_value(value_node, source)
        if problem is not None:
            issues.append(ConfigIssue(key, problem, "use plain numbers, strings, booleans, lists and maps"))
            continue
        config[key] = value
        if secret:
            secrets.add(key)
    return config, secrets, issues


def _pulumi_value(node: Node, source: str) -> tuple[Any, bool, str | None]:
    """(value, is secret, problem): a scalar as its text, as Pulumi reads any scalar into a string (a
    null as the empty string); a ``{secure: ...}`` map as a secret; other maps and lists as Go's JSON."""
    if isinstance(node, ScalarNode):
        return ("" if node.tag.endswith(":null") else node.value), False, None
    data = safe_yaml.construct(node, source)
    if _is_secure(data):
        return data, True, None
    try:
        return _as_go_json(data), _has_secure(data), None
    except ValueError as error:
        return None, False, str(error)


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("secure"), str)


def _has_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def _as_go_json(value: Any) -> Any:
    """Data as Pulumi passes it: map keys as Go's ``%v`` text, sorted (Go writes maps in key order), a
    float with no fraction as an integer, an integer past 64 bits as a float; NaN and infinities refused."""
    if isinstance(value, Mapping):
        return {key: _as_go_json(value[raw]) for key, raw in sorted((safe_yaml.go_text(k), k) for k in value)}
    if isinstance(value, list):
        return [_as_go_json(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if -_INT64 <= value < _UINT64:
            return value
        value = float(value)  # yaml.v3 reads it as a float64, then written as JSON like any float
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{value} (.nan or .inf) is a number JSON cannot hold, and Pulumi refuses it")
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    raise ValueError(f"{value!r} is not plain data")
