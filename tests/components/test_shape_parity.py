"""Every TypedDict other languages see is held to the pydantic model that validates it.

The models are the one definition of each shape; the TypedDicts exist because Pulumi's component
analyzer reads TypedDicts (with their attribute docstrings) to build the package schema. A field added,
renamed, retyped, made optional or documented differently on one side and not the other fails here.

No ``from __future__ import annotations``: TypedDict's required keys are only known from real annotations.
"""

import ast
import inspect
import itertools
import types
import typing
from collections.abc import Sequence
from enum import Enum
from ipaddress import IPv4Network
from typing import Any, NotRequired, TypedDict, get_args, get_origin, get_type_hints

import pulumi
import pytest
from pydantic import BaseModel

from armful import component_types
from armful.addons.config import AddonsConfig
from armful.addons.registry import SECRETS
from armful.arm_cluster import ArmClusterArgs
from armful.cluster_addons import ClusterAddonsArgs
from armful.core.config import (
    ClusterConfig,
    EndpointConfig,
    NetworkConfig,
    NodeCapacityConfig,
    PodRequestsConfig,
    PoolConfig,
    PoolDescriptionConfig,
    PoolsConfig,
    TaintConfig,
    WorkloadConfig,
)
from armful.core.config_base import ConfigModel
from armful.network import NetworkArgs
from armful.node_pools import NodePoolsArgs
from armful.planning.chart_sources import ChartSourcesConfig
from armful.planning.node_pools_plan import plan_node_pools
from armful.planning.stack_config import StackConfig

# TypedDict → (model, args the component takes that are not config: Pulumi resources, secrets, region).
NOT_CONFIG = frozenset({"region", *(secret.name for secret in SECRETS)})
PAIRS: dict[type, tuple[type[BaseModel], frozenset[str]]] = {
    component_types.TaintSpec: (TaintConfig, frozenset()),
    component_types.PoolSpec: (PoolConfig, frozenset()),
    component_types.PoolDescription: (PoolDescriptionConfig, frozenset()),
    component_types.EndpointSpec: (EndpointConfig, frozenset()),
    component_types.ClusterSpec: (ClusterConfig, frozenset()),
    component_types.NetworkSpec: (NetworkConfig, frozenset()),
    component_types.WorkloadSpec: (WorkloadConfig, frozenset()),
    component_types.PodRequestsSpec: (PodRequestsConfig, frozenset()),
    component_types.NodeCapacitySpec: (NodeCapacityConfig, frozenset()),
    component_types.ChartSourcesSpec: (ChartSourcesConfig, frozenset()),
    ArmClusterArgs: (StackConfig, NOT_CONFIG),
    # The cluster's version and AMI release policy are ClusterConfig's (PARTS holds the one they share).
    NodePoolsArgs: (
        PoolsConfig,
        # Karpenter's NodePools, planned beside the node groups, tell them which worker arches exist.
        frozenset(
            {"cluster", "subnet_ids", "kubernetes_version", "node_ami_release", "elastic_worker_arches"}
        ),
    ),
}
MODEL_OF = {typed: model for typed, (model, _) in PAIRS.items()}
# Component args that take some of a model's fields: those must match it, the rest are the component's own.
PARTS: list[tuple[type, type[BaseModel], frozenset[str]]] = [
    (NetworkArgs, NetworkConfig, frozenset({"cidr", "availability_zones", "single_nat_gateway", "zone_ids"})),
    (NodePoolsArgs, ClusterConfig, frozenset({"node_ami_release"})),
    (ClusterAddonsArgs, PoolsConfig, frozenset({"topology"})),
]
# Shapes other languages get as a free-form map: the model behind it validates each add-on's own keys.
FREE_FORM_MODELS = {AddonsConfig: ("map", "str", "any")}


def shape_of(annotation: Any) -> Any:
    """An annotation reduced to what both sides must agree on: scalars, lists, maps, nested shapes."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (typing.Annotated, typing.NotRequired, typing.Required):
        return shape_of(args[0])
    if origin in (typing.Union, types.UnionType):
        if any(get_origin(arg) is pulumi.Output or arg is pulumi.Output for arg in args):
            return shape_of(args[0])  # pulumi.Input[T]: T, an awaitable or an Output of it
        present = [arg for arg in args if arg is not type(None)]
        (only,) = present
        return shape_of(only)
    if origin in (list, Sequence, typing.Sequence) or annotation is list:
        return ("list", shape_of(args[0]))
    if origin is dict:
        return ("map", shape_of(args[0]), shape_of(args[1]))
    if annotation in FREE_FORM_MODELS:
        return FREE_FORM_MODELS[annotation]
    if annotation in MODEL_OF:
        return ("shape", MODEL_OF[annotation].__name__)
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        base = next(m for m in annotation.__mro__ if m in MODEL_OF.values() or m is annotation)
        paired = next((m for m in MODEL_OF.values() if issubclass(annotation, m)), base)
        return ("shape", paired.__name__)
    if inspect.isclass(annotation) and (issubclass(annotation, Enum) or annotation is IPv4Network):
        return "str"  # enums and CIDRs are strings on the wire
    if annotation is Any:
        return "any"
    return annotation.__name__


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstring under each annotated attribute of a class body, as the component analyzer reads it."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs


def parity_problems(typed: type, model: type[BaseModel], extras: frozenset[str] = frozenset()) -> list[str]:
    """Every way ``typed`` differs from ``model``: names, optionality, types, docs."""
    # pulumi.Input[T] holds the forward reference "Output[T]", resolved in the module that defines it.
    hints = get_type_hints(typed, localns=vars(pulumi.output), include_extras=True)
    docs = attribute_docs(typed)
    problems = [
        f"{name}: only in {typed.__name__}" for name in sorted(set(hints) - extras - set(model.model_fields))
    ]
    for name, info in model.model_fields.items():
        if name not in hints:
            problems.append(f"{name}: only in {model.__name__}")
            continue
        typed_required = name in typed.__required_keys__  # type: ignore[attr-defined]
        if typed_required != info.is_required():
            problems.append(f"{name}: required in one, optional in the other")
        if shape_of(hints[name]) != shape_of(info.annotation):
            problems.append(f"{name}: {shape_of(hints[name])} against {shape_of(info.annotation)}")
        if not docs.get(name) or docs[name] != info.description:
            problems.append(f"{name}: documented {docs.get(name)!r} against {info.description!r}")
    return problems


@pytest.mark.parametrize("typed", PAIRS, ids=lambda typed: typed.__name__)
def test_each_typed_dict_matches_its_model(typed: type) -> None:
    model, extras = PAIRS[typed]
    assert parity_problems(typed, model, extras) == [], f"{typed.__name__} against {model.__name__}"


@pytest.mark.parametrize("typed", [t for t in PAIRS if t.__module__ == component_types.__name__], ids=str)
def test_each_shape_is_described_as_its_model(typed: type) -> None:
    """The schema's type description comes from the TypedDict's docstring; the model's says the same."""
    assert inspect.getdoc(typed) == inspect.getdoc(MODEL_OF[typed])


@pytest.mark.parametrize(("typed", "model", "fields"), PARTS, ids=lambda part: getattr(part, "__name__", ""))
def test_component_args_that_take_a_models_fields_match_it(
    typed: type, model: type[BaseModel], fields: frozenset[str]
) -> None:
    hints = get_type_hints(typed, localns=vars(pulumi.output), include_extras=True)
    problems = parity_problems(typed, model, frozenset(hints) - fields)
    assert [problem for problem in problems if problem.split(":", 1)[0] in fields] == []


class _Spec(TypedDict):
    name: str
    """The name."""
    size: NotRequired[int]
    """How many."""


class _Model(ConfigModel):
    name: str
    """The name."""
    size: int = 1
    """How many."""


def test_the_check_fails_on_each_kind_of_drift() -> None:
    assert parity_problems(_Spec, _Model) == []

    class Added(_Model):
        spot: bool = False
        """A field the TypedDict lacks."""

    class Retyped(ConfigModel):
        name: str
        """The name."""
        size: str = "1"
        """How many."""

    class Required(ConfigModel):
        name: str
        """The name."""
        size: int
        """How many."""

    class Redocumented(ConfigModel):
        name: str
        """The name of it."""
        size: int = 1
        """How many."""

    for drifted, problem in [
        (Added, "spot: only in Added"),
        (Retyped, "size: int against str"),
        (Required, "size: required in one, optional in the other"),
        (Redocumented, "name: documented 'The name.' against 'The name of it.'"),
    ]:
        assert parity_problems(_Spec, drifted) == [problem]


def test_the_pools_output_has_the_shape_it_declares() -> None:
    """``pools`` gives what ``PoolPlan.description`` makes: PoolInfo's keys, taints as TaintInfo."""
    (system, *_) = plan_node_pools(
        {
            "topology": "all-arm",
            "system_pool": {"name": "system", "instance_types": ["m7g.large"]},
            "worker_pools": [{"name": "apps", "instance_types": ["m7g.large"]}],
        }
    )
    description = system.description()
    assert set(description) == set(get_type_hints(component_types.PoolInfo))
    assert set(component_types.PoolInfo.__required_keys__) == set(description)  # type: ignore[attr-defined]
    (taint,) = description["taints"]
    assert set(taint) == set(get_type_hints(component_types.TaintInfo))
    # And a pool's description is a valid ClusterAddons pool description, as the docs promise.
    assert PoolDescriptionConfig.model_validate(description).name == "system"


@pytest.mark.parametrize("args", [ArmClusterArgs, ClusterAddonsArgs], ids=lambda args: args.__name__)
def test_every_secret_an_add_on_declares_is_an_arg(args: type) -> None:
    hints = get_type_hints(args, localns=vars(pulumi.output))
    secret_args = {name for name in hints if "password" in name or "secret" in name}
    assert secret_args == {secret.name for secret in SECRETS}
