"""Config errors that name the field and the fix, gathered before any resource exists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

CONFIG_NAMESPACE = "armful"


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with a stack's config: where it is, what is wrong, how to fix it."""

    path: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}. Fix: {self.fix}"


class StackConfigError(ValueError):
    """Every problem found in a stack's config; raised before any resource is registered."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        noun = "error" if len(self.issues) == 1 else "errors"
        lines = [f"Armful stack config has {len(self.issues)} {noun}:"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


def config_path(*parts: str | int) -> str:
    """``("workerPools", 0, "maxSize")`` → ``armful:workerPools[0].maxSize``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return f"{CONFIG_NAMESPACE}:{text}"


_FIXES_BY_ERROR_TYPE = {
    "extra_forbidden": "remove the key or correct its spelling (keys are camelCase)",
    "missing": "set this key",
    "enum": "use one of the values listed",
    "literal_error": "use one of the values listed",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "too_short": "add entries",
    "too_long": "remove entries",
    "ip_v4_network": "give a CIDR block such as 203.0.113.0/24",
}

# A regular expression is no message: each pattern a config model uses is said here in words, with an
# example (``describe_pattern``, called where the pattern is defined or, for the add-ons', by planning).
_PATTERN_RULES: dict[str, tuple[str, str]] = {}


def describe_pattern(pattern: str, rule: str, example: str) -> str:
    """Register the words for ``pattern`` ("a Prometheus duration", "15d"); returns the pattern."""
    _PATTERN_RULES[pattern] = (rule, example)
    return pattern


# What YAML makes of an unquoted scalar a string key needed: the fix is to quote it.
_YAML_TYPES = {bool: "the boolean", int: "the number", float: "the number"}


def _given(value: object) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{_YAML_TYPES.get(type(value), 'the string')} {value!r}"


def _typed_issue(kind: str, value: object) -> tuple[str, str] | None:
    """The problem and fix for a value of the wrong type, saying what YAML read."""
    if kind == "string_type" and type(value) in _YAML_TYPES:
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        return (
            f"this is {_given(value)}, not a string: YAML reads unquoted true, false and numbers such "
            "as 1.30 (which it shortens to 1.3) as booleans and numbers",
            f'quote it: "{shown}"',
        )
    expected = {
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "a map of keys to values",
        "model_type": "a map of keys to values",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "int_from_float": "a whole number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
    }.get(kind)
    if expected is None:
        return None
    return f"this must be {expected}, but it is {_given(value)}", f"give {expected}"


def issues_from_pydantic(error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for detail in error.errors():
        location = tuple(part for part in detail["loc"] if not str(part).startswith("function-"))
        message = detail["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        fix = _FIXES_BY_ERROR_TYPE.get(detail["type"], "correct the value")
        typed = _typed_issue(detail["type"], detail.get("input"))
        if typed is not None:
            message, fix = typed
        if detail["type"] == "string_pattern_mismatch":
            message, fix = _pattern_issue(detail)
        if "Fix:" in message:
            message, fix = (part.strip().rstrip(".") for part in message.split("Fix:", 1))
        issues.append(ConfigIssue(config_path(*location) if location else CONFIG_NAMESPACE, message, fix))
    return issues


def _pattern_issue(detail: Any) -> tuple[str, str]:
    pattern = (detail.get("ctx") or {}).get("pattern", "")
    described = _PATTERN_RULES.get(str(pattern))
    given = detail.get("input")
    if described is None:
        return f"{given!r} does not have the form this key takes", "see the key's description in the README"
    rule, example = described
    return f"{given!r} is not {rule}", f"write it like {example}"


def raise_if_any(issues: Iterable[ConfigIssue]) -> None:
    collected = list(issues)
    if collected:
        raise StackConfigError(collected)
