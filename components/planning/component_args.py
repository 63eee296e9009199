"""Checks every component makes of its args before it registers anything, with errors naming the arg."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from armful.core.errors import ConfigIssue, StackConfigError


class ArgsError(StackConfigError):
    """Every problem found in a component's args, each with the arg's path and the fix."""

    def __init__(self, issues: Sequence[ConfigIssue], component: str = "ClusterAddons") -> None:
        super().__init__(issues)
        noun = "error" if len(self.issues) == 1 else "errors"
        lines = [f"Armful {component} args have {len(self.issues)} {noun}:"]
        lines += [f"  - {issue}" for issue in self.issues]
        ValueError.__init__(self, "\n".join(lines))


def unknown_arg_issues(
    component: str, args: Mapping[str, Any], known: Iterable[str], example: str
) -> list[ConfigIssue]:
    """An arg the component does not take: most often camelCase where Python wants snake_case."""
    names = set(known)
    return [
        ConfigIssue(
            str(key),
            f"{component} has no arg {key!r}",
            f"remove it or correct its spelling (Python args are snake_case, e.g. {example})",
        )
        for key in args
        if key not in names
    ]


def cluster_name_issues(args: Mapping[str, Any], why: str) -> list[ConfigIssue]:
    cluster_name = args.get("cluster_name")
    if isinstance(cluster_name, str) and cluster_name:
        return []
    return [ConfigIssue("cluster_name", "no cluster name is given", f"give the EKS cluster's name{why}")]
