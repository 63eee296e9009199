"""Kubernetes' form of the pod fields a Helm values override may set where Armful places and sizes pods:
``nodeSelector``, ``tolerations``, ``affinity`` (or ``nodeAffinity`` alone) and ``resources``.

Armful proves placement with a model of the scheduler and counts requests against each pool's room; both
read these fields, and a field of the wrong form would reach the API server, which refuses the pod and,
with atomic releases, fails ``pulumi up``. So each is checked first, as the API server's validation does
(``k8s.io/kubernetes/pkg/apis/core/validation``), and each problem is said in words with its path.
Every function returns ``(path below the field, problem)`` pairs; nulls are what Helm drops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from armful.core.kubernetes_names import label_value_problem, qualified_name_problem
from armful.core.quantities import parse_cpu, parse_memory
from armful.core.taints import TaintEffect

Problems = list[tuple[tuple[str, ...], str]]

TOLERATION_KEYS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
TAINT_EFFECTS = frozenset(effect.value for effect in TaintEffect)
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_RESOURCE_KEYS = frozenset({"requests", "limits", "claims"})


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{value!r}"


def node_selector_problems(value: Any) -> Problems:
    if not isinstance(value, Mapping):
        return [((), f"nodeSelector must be a map of label keys to values, not {_kind(value)}")]
    problems: Problems = []
    for key, wanted in value.items():
        problem = qualified_name_problem(str(key), "nodeSelector key")
        if problem is None and not isinstance(wanted, str):
            problem = f"nodeSelector {key} must be a string, not {_kind(wanted)} (quote it)"
        problem = problem or label_value_problem(wanted, f"nodeSelector {key!r} value")
        if problem:
            problems.append(((str(key),), problem))
    return problems


def tolerations_problems(value: Any) -> Problems:
    if not isinstance(value, list):
        return [((), f"tolerations must be a list of tolerations, not {_kind(value)}")]
    problems: Problems = []
    for index, toleration in enumerate(value):
        at = (str(index),)
        if not isinstance(toleration, Mapping):
            problems.append(
                (at, f"a toleration must be a map (key, operator, value, effect), not {_kind(toleration)}")
            )
            continue
        unknown = sorted(str(key) for key in toleration if key not in TOLERATION_KEYS)
        if unknown:
            problems.append(
                (
                    at,
                    f"a toleration has no field {unknown[0]!r} (it takes {', '.join(sorted(TOLERATION_KEYS))})",
                )
            )
            continue
        key, operator = toleration.get("key", ""), toleration.get("operator", "Equal")
        text = {name: toleration.get(name) for name in ("key", "value", "effect", "operator")}
        wrong = next(
            (name for name, item in text.items() if item is not None and not isinstance(item, str)), None
        )
        if wrong:
            problems.append(
                ((*at, wrong), f"a toleration's {wrong} must be a string, not {_kind(text[wrong])}")
            )
            continue
        if operator not in ("Equal", "Exists"):
            problems.append(((*at, "operator"), f"toleration operator {operator!r} is not Equal or Exists"))
        elif operator == "Exists" and toleration.get("value"):
            problems.append(((*at, "value"), "a toleration with operator Exists takes no value"))
        elif operator == "Equal" and not key:
            problems.append(((*at, "key"), "a toleration with operator Equal needs a key"))
        if key and (problem := qualified_name_problem(key, "toleration key")):
            problems.append(((*at, "key"), problem))
        if (problem := label_value_problem(toleration.get("value") or "", "toleration value")) is not None:
            problems.append(((*at, "value"), problem))
        effect = toleration.get("effect") or ""
        if effect and effect not in TAINT_EFFECTS:
            problems.append(
                (
                    (*at, "effect"),
                    f"toleration effect {effect!r} is not one of {', '.join(sorted(TAINT_EFFECTS))}",
                )
            )
        seconds = toleration.get("tolerationSeconds")
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int):
                problems.append(
                    (
                        (*at, "tolerationSeconds"),
                        f"tolerationSeconds must be a whole number, not {_kind(seconds)}",
                    )
                )
            elif effect != "NoExecute":
                problems.append(
                    ((*at, "tolerationSeconds"), "tolerationSeconds only applies to effect NoExecute")
                )
    return problems


def _requirement_problems(requirement: Any, at: tuple[str, ...]) -> Problems:
    if not isinstance(requirement, Mapping):
        return [
            (
                at,
                f"a node selector requirement must be a map (key, operator, values), not {_kind(requirement)}",
            )
        ]
    unknown = sorted(str(key) for key in requirement if key not in ("key", "operator", "values"))
    if unknown:
        return [
            (at, f"a node selector requirement has no field {unknown[0]!r} (it takes key, operator, values)")
        ]
    key, operator, values = (
        requirement.get("key"),
        requirement.get("operator"),
        requirement.get("values") or [],
    )
    if not isinstance(key, str) or (problem := qualified_name_problem(key, "requirement key")):
        return [
            (
                (*at, "key"),
                problem if isinstance(key, str) else f"the key must be a label key, not {_kind(key)}",
            )
        ]
    if operator not in NODE_SELECTOR_OPERATORS:
        return [
            ((*at, "operator"), f"operator {operator!r} is not one of {', '.join(NODE_SELECTOR_OPERATORS)}")
        ]
    if not isinstance(values, list) or not all(isinstance(item, str) for item in values):
        return [((*at, "values"), f"values must be a list of strings (quote numbers), not {values!r}")]
    if operator in ("In", "NotIn") and not values:
        return [((*at, "values"), f"operator {operator} needs at least one value")]
    if operator in ("Exists", "DoesNotExist") and values:
        return [((*at, "values"), f"operator {operator} takes no values")]
    if operator in ("Gt", "Lt") and (len(values) != 1 or not values[0].lstrip("+-").isdigit()):
        return [((*at, "values"), f"operator {operator} takes exactly one whole number, quoted")]
    return []


def _term_problems(term: Any, at: tuple[str, ...]) -> Problems:
    if not isinstance(term, Mapping):
        return [
            (at, f"a node selector term must be a map (matchExpressions, matchFields), not {_kind(term)}")
        ]
    problems: Problems = []
    for name, requirements in term.items():
        if name not in ("matchExpressions", "matchFields"):
            problems.append(((*at, str(name)), f"a node selector term has no field {name!r}"))
        elif not isinstance(requirements, list):
            problems.append(((*at, name), f"{name} must be a list, not {_kind(requirements)}"))
        else:
            for index, requirement in enumerate(requirements):
                problems += _requirement_problems(requirement, (*at, name, str(index)))
    return problems


def node_affinity_problems(value: Any) -> Problems:
    if not isinstance(value, Mapping):
        return [((), f"nodeAffinity must be a map, not {_kind(value)}")]
    problems: Problems = []
    for name, rule in value.items():
        at = (str(name),)
        if name == "requiredDuringSchedulingIgnoredDuringExecution":
            terms = rule.get("nodeSelectorTerms") if isinstance(rule, Mapping) else None
            if not isinstance(rule, Mapping) or set(rule) - {"nodeSelectorTerms"}:
                problems.append((at, "this must be a map holding only nodeSelectorTerms"))
            elif not isinstance(terms, list) or not terms:
                problems.append(
                    ((*at, "nodeSelectorTerms"), "nodeSelectorTerms must be a non-empty list of terms")
                )
            else:
                for index, term in enumerate(terms):
                    problems += _term_problems(term, (*at, "nodeSelectorTerms", str(index)))
        elif name == "preferredDuringSchedulingIgnoredDuringExecution":
            if not isinstance(rule, list):
                problems.append((at, f"this must be a list of weighted preferences, not {_kind(rule)}"))
                continue
            for index, preference in enumerate(rule):
                item = (*at, str(index))
                weight = preference.get("weight") if isinstance(preference, Mapping) else None
                if not isinstance(preference, Mapping) or set(preference) != {"weight", "preference"}:
                    problems.append((item, "a preference must be a map of weight and preference"))
                elif isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 100:
                    problems.append(
                        ((*item, "weight"), f"weight must be a whole number from 1 to 100, not {weight!r}")
                    )
                else:
                    problems += _term_problems(preference["preference"], (*item, "preference"))
        else:
            problems.append((at, f"nodeAffinity has no field {name!r}"))
    return problems


def affinity_problems(value: Any) -> Problems:
    if not isinstance(value, Mapping):
        return [((), f"affinity must be a map, not {_kind(value)}")]
    problems: Problems = []
    for name, part in value.items():
        if name == "nodeAffinity":
            problems += [(("nodeAffinity", *at), problem) for at, problem in node_affinity_problems(part)]
        elif name in ("podAffinity", "podAntiAffinity"):
            if not isinstance(part, Mapping) or not all(isinstance(rules, list) for rules in part.values()):
                problems.append(((name,), f"{name} must be a map of lists of terms"))
        else:
            problems.append(
                ((str(name),), f"affinity has no field {name!r} (nodeAffinity, podAffinity, podAntiAffinity)")
            )
    return problems


def resources_problems(value: Any) -> Problems:
    """``resources``: requests and limits of quantities, and no request above its limit."""
    if not isinstance(value, Mapping):
        return [((), f"resources must be a map of requests and limits, not {_kind(value)}")]
    problems: Problems = []
    amounts: dict[str, dict[str, float]] = {}
    for name, entries in value.items():
        if name not in _RESOURCE_KEYS:
            problems.append(((str(name),), f"resources has no field {name!r} (requests, limits)"))
            continue
        if name == "claims":
            continue
        if not isinstance(entries, Mapping):
            problems.append(
                ((name,), f"{name} must be a map of resource names to quantities, not {_kind(entries)}")
            )
            continue
        for resource, quantity in entries.items():
            parse = parse_cpu if resource == "cpu" else parse_memory
            try:
                amounts.setdefault(str(resource), {})[name] = parse(quantity)
            except ValueError as error:
                # At the map, as the capacity proof reports a request it cannot count.
                problems.append(((name,), str(error)))
    for resource, both in amounts.items():
        if "requests" in both and "limits" in both and both["requests"] > both["limits"]:
            problems.append(
                (
                    ("requests", resource),
                    f"the {resource} request {value['requests'][resource]} is above its limit "
                    f"{value['limits'][resource]}, which Kubernetes refuses",
                )
            )
    return problems


SCHEDULING_FIELDS = {
    "nodeSelector": node_selector_problems,
    "tolerations": tolerations_problems,
    "affinity": affinity_problems,
    "nodeAffinity": node_affinity_problems,
}
