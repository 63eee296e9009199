"""Helm values as nested dicts: read, write and merge by path, the way Helm itself merges."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Path = tuple[str, ...]


def get_path(tree: Mapping[str, Any], path: Sequence[str], default: Any = None) -> Any:
    node: Any = tree
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(tree: dict[str, Any], path: Sequence[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Maps merge key by key; anything else (lists, and nulls) replaces, as in Helm's values merge.

    A null is kept: Helm, given the merged values, removes that key from the chart's defaults too.
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def leaf_paths(tree: Mapping[str, Any], prefix: Path = ()) -> Iterator[Path]:
    """Every path to a value that is not a non-empty map: the keys a values file sets."""
    for key, value in tree.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


def without_nulls(tree: Any) -> Any:
    """Values as the chart's templates see them: Helm drops every key whose value is null."""
    if isinstance(tree, Mapping):
        return {key: without_nulls(value) for key, value in tree.items() if value is not None}
    if isinstance(tree, list):
        return [without_nulls(value) for value in tree]
    return tree
