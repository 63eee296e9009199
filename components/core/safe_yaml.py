"""Reading a YAML config file as Pulumi does, with bounds: the one loader for stack and project files.

Pulumi's CLI reads stack files with Go's ``yaml.v3`` and hands the program JSON, so this loader reads
YAML the same way where PyYAML (YAML 1.1) differs: ``yes``, ``no``, ``on`` and ``off`` are strings, only
``true`` and ``false`` (any case style) are booleans, ``1:30`` is a string, dates stay strings, and
``0755`` is octal. Every rule here raises a ``StackConfigError`` that names the file, the line and
the fix:

- the file is at most ``MAX_BYTES`` and is UTF-8, strictly (a byte that is not is named with its line);
- a mapping never repeats a key (YAML would keep the last silently; Pulumi refuses the file);
- aliases (``*name``) never expand the document past ``MAX_VALUES`` values, and nothing nests deeper
  than ``MAX_DEPTH`` levels: a few hundred bytes of nested anchors (a "billion laughs") would
  otherwise expand to millions of values downstream;
- only plain data: explicit tags such as ``!!binary``, ``!!set`` or ``!custom`` are refused, since
  Pulumi config holds strings, numbers, booleans, lists and maps.

``bounds_problem`` applies the same size and depth bounds to data from anywhere else (the JSON the
stack program gets from Pulumi), so that both readers refuse the same documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

import yaml
import yaml.reader
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from armful.core.errors import ConfigIssue, StackConfigError

MAX_BYTES = 1 << 20
"""1 MiB: a stack file is a few kilobytes; Helm values overrides rarely reach a hundred."""
MAX_VALUES = 50_000
"""Values (maps, lists and scalars) a document may hold once every alias is expanded."""
MAX_DEPTH = 64
"""Levels of maps and lists; Helm values go a dozen deep."""

_CORE = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(
    f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
)
_MERGE = f"{_CORE}merge"


class _Problem(Exception):
    def __init__(self, node: Node | None, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.node, self.problem, self.fix = node, problem, fix


def _go_int(text: str) -> int | float:
    """``strconv.ParseInt(text, 0, 64)`` after yaml.v3 drops underscores; its float when that fails."""
    plain = text.replace("_", "")
    sign = -1 if plain.startswith("-") else 1
    digits = plain.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if digits.lower().startswith(prefix):
            return sign * int(digits[2:], base)
    if len(digits) > 1 and digits.startswith("0"):
        if re.fullmatch(r"[0-7]+", digits):
            return sign * int(digits, 8)
        return float(plain)  # "08" is no octal; yaml.v3 then reads it as the float 8
    return sign * int(digits)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's implicit types (YAML 1.2's core schema)."""

    yaml_implicit_resolvers: dict = {}  # noqa: RUF012 (PyYAML's own class-level registry)

    def construct_yaml_int(self, node: ScalarNode) -> int | float:  # type: ignore[override]
        return _go_int(self.construct_scalar(node))


_Loader.add_implicit_resolver(
    f"{_CORE}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(f"{_CORE}null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver(
    f"{_CORE}int",
    re.compile(r"^[-+]?(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    f"{_CORE}float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9_]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])
_Loader.add_constructor(f"{_CORE}int", _Loader.construct_yaml_int)


def decode_utf8(data: bytes, source: str) -> str:
    """The text of a file that must be UTF-8; a leading byte-order mark is dropped, as Pulumi does."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        hint = ""
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = " (the file starts with a UTF-16 byte-order mark)"
        raise StackConfigError(
            [
                ConfigIssue(
                    source,
                    f"byte 0x{data[error.start]:02x} at line {line}, column {column} is not UTF-8{hint}",
                    "save the file as UTF-8, the encoding Pulumi reads stack files in",
                )
            ]
        ) from None
    return text.removeprefix("\ufeff")


def check_size(data: bytes, source: str) -> None:
    if len(data) > MAX_BYTES:
        raise StackConfigError(
            [
                ConfigIssue(
                    source,
                    f"the file is {len(data):,} bytes; Armful reads config files of at most "
                    f"{MAX_BYTES:,} bytes (1 MiB)",
                    "move large Helm values out of the stack file, or remove what is not config",
                )
            ]
        )


def compose(data: bytes, source: str) -> Node | None:
    """The checked node graph of a one-document YAML file, or None for an empty one."""
    check_size(data, source)
    text = decode_utf8(data, source)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise _Problem(
                None,
                f"the document nests more than {MAX_DEPTH} levels of maps and lists",
                "flatten the structure",
            ) from None
        if root is not None:
            _check_graph(loader, root)
        return root
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise StackConfigError(
            [ConfigIssue(source, f"not valid YAML: {where}{what}", "fix the YAML syntax there")]
        ) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise StackConfigError(
            [
                ConfigIssue(
                    source,
                    f"line {line}: character #x{error.character:04x} is a control character, which YAML "
                    "does not allow",
                    "remove it, or write it as an escape inside a double-quoted string",
                )
            ]
        ) from None
    except yaml.YAMLError as error:
        raise StackConfigError(
            [ConfigIssue(source, f"not valid YAML: {error}", "fix the YAML syntax")]
        ) from None
    except _Problem as problem:
        where = f"line {problem.node.start_mark.line + 1}: " if problem.node is not None else ""
        raise StackConfigError([ConfigIssue(source, f"{where}{problem.problem}", problem.fix)]) from None
    except ValueError as error:  # a scalar its explicit tag cannot hold (!!int abc)
        raise StackConfigError(
            [ConfigIssue(source, f"not valid YAML: {error}", "fix the YAML syntax")]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


def construct(node: Node, source: str) -> Any:
    """The data of a node ``compose`` returned (or of any node below it)."""
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    except (yaml.YAMLError, ValueError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise StackConfigError(
            [ConfigIssue(source, f"not valid YAML: {where}{problem}", "fix the YAML there")]
        ) from None
    finally:
        loader.dispose()


def load(data: bytes, source: str) -> Any:
    """Parse a one-document YAML file by every rule above; None for an empty file."""
    root = compose(data, source)
    return None if root is None else construct(root, source)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_graph(loader: _Loader, root: Node) -> None:
    """Tags, repeated keys, cycles, the expanded size and the depth, each node visited once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    aliased = False
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            visiting.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if size[key] > MAX_VALUES:
                if aliased:
                    raise _Problem(
                        node,
                        f"this holds more than {MAX_VALUES:,} values once its aliases (*name) are expanded",
                        "write the values out instead of nesting aliases, or remove what is not config",
                    )
                raise _Problem(
                    node, f"this holds more than {MAX_VALUES:,} values", "remove what is not config"
                )
            if depth[key] > MAX_DEPTH:
                raise _Problem(
                    node, f"this nests more than {MAX_DEPTH} levels of maps and lists", "flatten it"
                )
            continue
        if key in size:
            aliased = True
            continue
        if key in visiting:
            raise _Problem(
                node,
                "an alias (*name) refers to a map or list that contains it, which never ends",
                "use the alias outside the anchored value (&name)",
            )
        if node.tag not in _PLAIN_TAGS:
            raise _Problem(
                node,
                f"tag {node.tag.replace(_CORE, '!!')} is not plain data: Pulumi config holds strings, "
                "numbers, booleans, lists and maps",
                "remove the tag",
            )
        if isinstance(node, MappingNode):
            _check_keys(loader, node)
        visiting.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _check_keys(loader: _Loader, node: MappingNode) -> None:
    seen: dict[str, Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE:
            continue
        if not isinstance(key_node, ScalarNode):
            raise _Problem(key_node, "a map key is itself a map or list", "use a string as the key")
        key = loader.construct_object(key_node, deep=True)
        text = go_text(key) if isinstance(key, Hashable) else repr(key)
        if text in seen:
            raise _Problem(
                key_node,
                f"key {text!r} is given twice in this map (first at line {seen[text].start_mark.line + 1}); "
                "YAML would keep the last silently, and Pulumi refuses the file",
                "keep one of them",
            )
        seen[text] = key_node


def go_text(value: Any) -> str:
    """A scalar as Go's ``fmt.Sprintf("%v")`` writes it: how Pulumi turns a non-string map key into one."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        if math.isnan(value):
            return "NaN"
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """Go's shortest ``%v``: positional from 1e-4 up to 1e6, else ``1.5e+06`` (two exponent digits)."""
    number = Decimal(repr(value)).normalize()
    exponent = number.adjusted()
    if -4 <= exponent < 6:
        return format(number, "f")
    mantissa, _, power = format(number, "e").partition("e")
    return f"{mantissa}e{power[0]}{power[1:].zfill(2)}"


def bounds_problem(value: Any) -> str | None:
    """Why a decoded value breaks the size or depth bound above, or None."""
    count = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        count += 1
        if count > MAX_VALUES:
            return f"it holds more than {MAX_VALUES:,} values"
        if level > MAX_DEPTH:
            return f"it nests more than {MAX_DEPTH} levels of maps and lists"
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, level + 1) for child in item)
    return None


__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "bounds_problem", "compose", "construct", "load"]
