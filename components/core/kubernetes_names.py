"""Kubernetes' syntax for the label and taint keys and values Armful passes on, and the EKS API's limits.

One set of rules for every model that takes a label or a taint (pools Armful creates, pools it is told
about), each failure said in words with the fix, never as a regular expression. Sources: Kubernetes'
``IsQualifiedName`` and ``IsValidLabelValue`` (``k8s.io/apimachinery/pkg/util/validation``) and the EKS
``CreateNodegroup`` API (label and taint keys and values of 1 to 63 characters; a taint value may be empty).
"""

from __future__ import annotations

import re

_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
NAME_PART_MAX = 63
PREFIX_MAX = 253
EKS_KEY_MAX = 63
EKS_VALUE_MAX = 63
EKS_TAINTS_MAX = 50
"""Taints the EKS node group API takes per node group, Armful's own included."""

_NAME_RULE = (
    "at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
)
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def dns_label_problem(name: object, what: str, limit: int = NAME_PART_MAX) -> str | None:
    """Why ``name`` is not a DNS label (RFC 1123: what Kubernetes object names and Armful's pool names
    are), or None: lower-case letters, digits and '-', starting and ending with a letter or digit."""
    rule = (
        f"lower-case letters, digits and '-', starting and ending with a letter or digit, at most {limit} "
        "characters"
    )
    if not isinstance(name, str):
        return None  # the model's type check says it
    if not name:
        return f"{what} is empty; it must be {rule}"
    if len(name) > limit:
        return f"{what} {name!r} is {len(name)} characters; it must be {rule}"
    if not _DNS_LABEL.fullmatch(name):
        bad = next((c for c in name if not re.fullmatch(r"[a-z0-9-]", c)), None)
        why = f" ({bad!r} is not allowed)" if bad else " (it starts or ends with '-')"
        return f"{what} {name!r} is not a DNS label{why}; it must be {rule}"
    return None


def label_value_name_problem(name: object, what: str) -> str | None:
    """A name Kubernetes keeps as a label value (a pool described by its nodes): ``_NAME_RULE``."""
    if not isinstance(name, str):
        return None
    if len(name) > NAME_PART_MAX or not _NAME_PART.fullmatch(name):
        return f"{what} {name!r} must be {_NAME_RULE}"
    return None


def duplicate_taints(taints: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """(index, problem) for each taint that repeats an earlier one's key and effect, which Kubernetes
    refuses on a node (``taints must be unique by key and effect``)."""
    first: dict[tuple[str, str], int] = {}
    found = []
    for index, pair in enumerate(taints):
        if pair in first:
            key, effect = pair
            problem = (
                f"taint {key}:{effect} repeats taints[{first[pair]}]; Kubernetes takes one per key and effect"
            )
            found.append((index, problem))
        else:
            first[pair] = index
    return found


def qualified_name_problem(key: str, what: str) -> str | None:
    """Why ``key`` is not a Kubernetes qualified name (``[prefix/]name``), or None when it is one."""
    if not key:
        return f"{what} is empty"
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return f"{what} {key!r} has an empty prefix before '/'"
    if prefix and (len(prefix) > PREFIX_MAX or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return (
            f"{what} {key!r} has prefix {prefix!r}, which is not a DNS subdomain (lower-case letters, digits, "
            f"'-' and '.', at most {PREFIX_MAX} characters, such as example.com)"
        )
    if len(name) > NAME_PART_MAX or not _NAME_PART.fullmatch(name):
        return f"{what} {key!r}: the name after any prefix must be {_NAME_RULE}"
    return None


def label_value_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a valid Kubernetes label (or taint) value; an empty value is valid."""
    if value and (len(value) > NAME_PART_MAX or not _NAME_PART.fullmatch(value)):
        return f"{what} {value!r} must be empty or {_NAME_RULE}"
    return None


def eks_length_problem(text: str, what: str, *, limit: int, allow_empty: bool) -> str | None:
    """The EKS node group API's own limit, stricter than Kubernetes' for prefixed keys."""
    if not text and not allow_empty:
        return f"{what} is empty, which the EKS node group API refuses"
    if len(text) > limit:
        return f"{what} {text!r} is {len(text)} characters; the EKS node group API takes at most {limit}"
    return None


def _check(
    kind: str, key: str, value: str, *, eks_node_group: bool, value_may_be_empty: bool, example: str
) -> None:
    problem = qualified_name_problem(key, f"{kind} key") or label_value_problem(
        value, f"{kind} {key!r} value"
    )
    if eks_node_group:
        problem = (
            problem
            or eks_length_problem(key, f"{kind} key", limit=EKS_KEY_MAX, allow_empty=False)
            or eks_length_problem(
                value, f"{kind} {key!r} value", limit=EKS_VALUE_MAX, allow_empty=value_may_be_empty
            )
        )
    if problem:
        raise ValueError(f"{problem}. Fix: use {example}")


def check_label(key: str, value: str, *, eks_node_group: bool) -> None:
    """Raise ValueError (with the fix) for a node label Kubernetes, or the EKS node group API when Armful
    creates the node group, would refuse: EKS takes no empty label value."""
    _check(
        "label",
        key,
        value,
        eks_node_group=eks_node_group,
        value_may_be_empty=False,
        example="a key such as example.com/team and a value such as payments",
    )


def check_taint(key: str, value: str, *, eks_node_group: bool) -> None:
    """Raise ValueError (with the fix) for a node taint Kubernetes, or the EKS node group API when Armful
    creates the node group, would refuse."""
    _check(
        "taint",
        key,
        value,
        eks_node_group=eks_node_group,
        value_may_be_empty=True,
        example="a key such as example.com/dedicated and a value such as batch",
    )
