"""A pure model of the Kubernetes scheduler's filters, applied to a pod template and a node pool.

Armful has to prove, before anything is created, that every pod it installs can land on some pool and
that the pool it can land on has a build of each of its images (design §5). This module answers that
one question per (pod, pool) pair, with no cluster and no network: it reads a PodSpec dict in the
Kubernetes wire form (as Helm renders it) and the labels and taints a node of the pool will carry.

Only the filters that decide *whether* a pod fits are modelled: ``nodeSelector``, required node
affinity and taints. Scoring (preferred affinity, ``PreferNoSchedule``, spread) only decides *where
among* the fitting nodes, so it can never strand a pod and is left out. Resources and ports are left
out too: they depend on the instance size and on what else is running, not on the pool's identity.

The semantics follow Kubernetes (``k8s.io/component-helpers/scheduling/corev1``,
``k8s.io/apimachinery/pkg/labels`` and ``Toleration.ToleratesTaint``). Where Kubernetes would accept
a spec that its API server rejects, the choice made here is documented on the function concerned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from armful.core.arch import Arch
from armful.core.pod_fields import NODE_SELECTOR_OPERATORS
from armful.core.pools import ARCH_LABEL, PoolPlan
from armful.core.taints import Taint, TaintEffect

__all__ = [
    "NodeProfile",
    "Verdict",
    "evaluate",
    "pod_images",
    "pools_for",
    "required_affinity_matches",
    "selector_matches",
    "tolerates",
    "untolerated_taints",
]

_NODE_SELECTOR_OPERATORS = frozenset(NODE_SELECTOR_OPERATORS)
# Go's ``strconv.ParseInt(s, 10, 64)``: optional sign, ASCII digits only (no spaces, no underscores).
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class NodeProfile:
    """What the scheduler sees on any node of one pool: its labels and its taints.

    Every node of an EKS managed node group carries the same labels and taints, so one profile stands
    for the whole pool. ``labels`` is copied into a read-only mapping so a profile cannot change after
    verdicts have been drawn from it.
    """

    name: str
    arch: Arch
    labels: Mapping[str, str]
    taints: tuple[Taint, ...] = ()

    def __post_init__(self) -> None:
        arch = Arch(self.arch)
        labels = MappingProxyType(dict(self.labels))
        # A profile whose arch label disagrees with its arch would make selector verdicts and image
        # verdicts contradict each other; refuse it rather than prove something false.
        label_arch = labels.get(ARCH_LABEL)
        if label_arch is not None and label_arch != arch.value:
            raise ValueError(
                f"node profile {self.name!r}: label {ARCH_LABEL}={label_arch} contradicts arch {arch.value}"
            )
        object.__setattr__(self, "arch", arch)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "taints", tuple(self.taints))

    def __hash__(self) -> int:
        # The generated hash would try to hash the labels mapping, which is not hashable.
        return hash((self.name, self.arch, frozenset(self.labels.items()), self.taints))

    @classmethod
    def of_pool(cls, pool: PoolPlan) -> NodeProfile:
        """The profile of a planned pool: its node labels (``kubernetes.io/*`` included) and taints."""
        return cls(name=pool.name, arch=pool.arch, labels=pool.node_labels, taints=pool.taints)


@dataclass(frozen=True)
class Verdict:
    """Whether one pod template can be scheduled on one pool, whether it can run there, and why not.

    The two are kept apart because they fail differently: an unschedulable pod stays Pending (visible
    at once), while a pod scheduled onto an arch its image lacks starts and dies with
    ``exec format error`` (visible only at run time). Callers report them as different findings.
    """

    pool: str
    schedulable: bool
    reasons: tuple[str, ...]
    images_without_arch: tuple[str, ...]

    @property
    def runs(self) -> bool:
        """The pod is both placed on this pool and has a build of every image for the pool's arch."""
        return self.schedulable and not self.images_without_arch


# --------------------------------------------------------------------------------------- nodeSelector


def _selector_mismatches(node_selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> list[str]:
    """One message per nodeSelector entry the labels fail, so `evaluate` and `selector_matches` agree."""
    mismatches = []
    for key, wanted in (node_selector or {}).items():
        actual = labels.get(key)
        if actual is None:
            mismatches.append(f"nodeSelector {key}={wanted} does not match (node has no label {key})")
        elif actual != wanted:
            mismatches.append(f"nodeSelector {key}={wanted} does not match {actual}")
    return mismatches


def selector_matches(node_selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes' ``nodeSelector``: every entry must equal the node's label; empty or None selects all."""
    return not _selector_mismatches(node_selector, labels)


# ----------------------------------------------------------------------------- required node affinity


def _parse_go_int64(text: object) -> int | None:
    """The integer Go's ``strconv.ParseInt(text, 10, 64)`` reads, or None where it returns an error.

    Python's ``int()`` is laxer (it accepts spaces, underscores and non-ASCII digits), which would
    make a Gt/Lt expression match here but not in the scheduler.
    """
    if not isinstance(text, str) or not _GO_INT.fullmatch(text):
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _check_operators(terms: Iterable[Mapping]) -> None:
    """Raise on an unknown operator in any term, before evaluating, so the error never hides.

    Kubernetes drops such a term silently (the API server rejects it first); here it is a bug in the
    values Armful generates or reads, and it must not depend on whether an earlier term matched.
    """
    for term in terms:
        for expression in term.get("matchExpressions") or ():
            operator = expression.get("operator")
            if operator not in _NODE_SELECTOR_OPERATORS:
                raise ValueError(
                    f"unknown node selector operator {operator!r} in expression {dict(expression)!r}; "
                    f"expected one of {sorted(_NODE_SELECTOR_OPERATORS)}"
                )


def _expression_matches(expression: Mapping, labels: Mapping[str, str]) -> bool:
    """One ``matchExpressions`` entry, as ``labels.Requirement.Matches`` evaluates it.

    A requirement Kubernetes cannot build (In/NotIn without values, Exists/DoesNotExist with values,
    Gt/Lt without exactly one integer value) makes its whole term match nothing, as the scheduler's
    lazy-error node selector does; returning False here gives exactly that, since a term is an AND.
    """
    key = expression.get("key") or ""
    operator = expression["operator"]
    values = list(expression.get("values") or ())
    present = key in labels
    if operator in ("In", "NotIn"):
        if not values:
            return False
        if operator == "In":
            return present and labels[key] in values
        # NotIn is true for a node without the label: only a node that has one of the values is excluded.
        return not present or labels[key] not in values
    if operator in ("Exists", "DoesNotExist"):
        if values:
            return False
        return present if operator == "Exists" else not present
    # Gt / Lt: integer comparison of the label's value; absent or non-integer label never matches.
    if len(values) != 1:
        return False
    bound = _parse_go_int64(values[0])
    actual = _parse_go_int64(labels.get(key))
    if bound is None or actual is None:
        return False
    return actual > bound if operator == "Gt" else actual < bound


def _term_matches(term: Mapping, labels: Mapping[str, str]) -> bool:
    """One ``nodeSelectorTerm``: all of its expressions hold.

    A term with ``matchFields`` never matches here. The only field Kubernetes supports is
    ``metadata.name``, and a pool's nodes get their names when they boot: a pool-level profile cannot
    prove that any of its nodes will have a given name, so claiming a match would be unsound.
    A term with neither expressions nor fields selects nothing, as in Kubernetes.
    """
    if term.get("matchFields"):
        return False
    expressions = term.get("matchExpressions") or ()
    if not expressions:
        return False
    return all(_expression_matches(expression, labels) for expression in expressions)


def required_affinity_matches(affinity: Mapping | None, labels: Mapping[str, str]) -> bool:
    """``nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`` against a node's labels.

    ``affinity`` is the pod's whole ``affinity`` dict; pod (anti-)affinity and preferred node affinity
    do not decide whether a pool can host the pod at all, so they are ignored. No required node
    affinity means no constraint; a required selector with no terms matches nothing.

    Raises ValueError for an operator Kubernetes does not know.
    """
    node_affinity = (affinity or {}).get("nodeAffinity") or {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        return True
    terms = list(required.get("nodeSelectorTerms") or ())
    _check_operators(terms)
    return any(_term_matches(term, labels) for term in terms)


# ------------------------------------------------------------------------------------ taints


def _toleration_matches(toleration: Mapping, taint: Taint) -> bool:
    """``Toleration.ToleratesTaint`` for one toleration.

    An Equal toleration must name the taint's key: Kubernetes' code would let an Equal toleration with
    no key match on value alone, but its API server rejects such a toleration, so no real pod has one.
    An operator Kubernetes does not know tolerates nothing, as in Kubernetes.
    """
    effect = toleration.get("effect") or ""
    if effect and effect != TaintEffect(taint.effect).value:
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return not key or key == taint.key
    if operator == "Equal":
        return key == taint.key and (toleration.get("value") or "") == taint.value
    return False


def tolerates(tolerations: Sequence[Mapping] | None, taint: Taint) -> bool:
    """Whether any of the pod's tolerations matches the taint (regardless of the taint's effect)."""
    return any(_toleration_matches(toleration, taint) for toleration in tolerations or ())


def untolerated_taints(tolerations: Sequence[Mapping] | None, taints: Iterable[Taint]) -> list[Taint]:
    """The taints that keep the pod off the node: NoSchedule and NoExecute ones it does not tolerate.

    PreferNoSchedule only lowers a node's score, so it never appears here.
    """
    return [
        taint
        for taint in taints
        if TaintEffect(taint.effect).filters_scheduling and not tolerates(tolerations, taint)
    ]


# ------------------------------------------------------------------------------------ images


def pod_images(pod_spec: Mapping) -> tuple[str, ...]:
    """Every image the pod pulls, first appearance first: init, then app, then ephemeral containers.

    Init containers matter as much as app containers: one without a build for the node's arch keeps
    the pod from ever starting.
    """

    def images() -> Iterator[str]:
        for field in ("initContainers", "containers", "ephemeralContainers"):
            for container in pod_spec.get(field) or ():
                image = container.get("image")
                if image:
                    yield image

    return tuple(dict.fromkeys(images()))


def _images_without_arch(
    pod_spec: Mapping, arch: Arch, image_arches: Mapping[str, Iterable[str]] | None
) -> tuple[str, ...]:
    """Images known to lack ``arch``; an image missing from ``image_arches`` is unknown, not lacking."""
    known = image_arches or {}
    return tuple(
        image
        for image in pod_images(pod_spec)
        if image in known and arch.value not in {str(a) for a in known[image]}
    )


# ------------------------------------------------------------------------------------ verdicts


def evaluate(
    pod_spec: Mapping, node: NodeProfile, image_arches: Mapping[str, frozenset[Arch]] | None = None
) -> Verdict:
    """Run every filter for one pod template on one pool and say why it fails, not just whether.

    All filters are run even after one fails, so a report lists every change the pod would need.
    Raises ValueError for an unknown node selector operator.
    """
    reasons = _selector_mismatches(pod_spec.get("nodeSelector"), node.labels)
    if not required_affinity_matches(pod_spec.get("affinity"), node.labels):
        reasons.append("required node affinity: no nodeSelectorTerm matches the node's labels")
    reasons.extend(
        f"taint {taint} is not tolerated"
        for taint in untolerated_taints(pod_spec.get("tolerations"), node.taints)
    )
    return Verdict(
        pool=node.name,
        schedulable=not reasons,
        reasons=tuple(reasons),
        images_without_arch=_images_without_arch(pod_spec, node.arch, image_arches),
    )


def pools_for(
    pod_spec: Mapping,
    nodes: Sequence[NodeProfile],
    image_arches: Mapping[str, frozenset[Arch]] | None = None,
) -> list[Verdict]:
    """One verdict per pool, in the order given, including the pools the pod cannot use.

    Every verdict is returned (not only the schedulable ones) because each finding of design §5 needs
    a different slice: no schedulable pool means stranded, a schedulable pool that does not ``run``
    means wrong arch, and a node agent not schedulable on some pool means a coverage gap.
    """
    return [evaluate(pod_spec, node, image_arches) for node in nodes]
