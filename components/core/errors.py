"""Config errors that name the field and the fix, gathered before any resource exists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    "int_parsing": "give a whole number",
    "int_type": "give a whole number",
    "bool_parsing": "give true or false",
    "bool_type": "give true or false",
    "string_type": "give a string",
    "list_type": "give a list",
    "dict_type": "give a map of keys to values",
    "model_type": "give a map of keys to values",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "too_short": "add entries",
    "too_long": "remove entries",
    "string_pattern_mismatch": "follow the pattern shown",
    "ip_v4_network": "give a CIDR block such as 203.0.113.0/24",
}


def issues_from_pydantic(error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for detail in error.errors():
        location = tuple(part for part in detail["loc"] if not str(part).startswith("function-"))
        message = detail["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        fix = _FIXES_BY_ERROR_TYPE.get(detail["type"], "correct the value")
        if "Fix:" in message:
            message, fix = (part.strip().rstrip(".") for part in message.split("Fix:", 1))
        issues.append(ConfigIssue(config_path(*location) if location else CONFIG_NAMESPACE, message, fix))
    return issues


def raise_if_any(issues: Iterable[ConfigIssue]) -> None:
    collected = list(issues)
    if collected:
        raise StackConfigError(collected)
