"""Table-driven tests of the scheduler model against the Kubernetes rules it claims to follow.

Each table row is one rule or edge case from the Kubernetes docs; the ids say which, so a failure
names the rule that broke. Property tests check the two invariants the placement planner relies on:
a pool's own tolerations always admit a pod, and a nodeSelector copied from a pool's labels selects it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from armful.core.arch import Arch
from armful.core.pools import (
    ARCH_LABEL,
    OS_LABEL,
    POOL_LABEL,
    ROLE_LABEL,
    PoolPlan,
    PoolRole,
    pool_from_description,
)
from armful.core.taints import Taint, TaintEffect
from armful.placement.scheduler import (
    NodeProfile,
    Verdict,
    evaluate,
    pod_images,
    pools_for,
    required_affinity_matches,
    selector_matches,
    tolerates,
    untolerated_taints,
)

NS = TaintEffect.NO_SCHEDULE
NE = TaintEffect.NO_EXECUTE
PNS = TaintEffect.PREFER_NO_SCHEDULE

CRITICAL = Taint("CriticalAddonsOnly", "true", NS)
AMD64_TAINT = Taint(ARCH_LABEL, "amd64", NS)
GPU_EXECUTE = Taint("nvidia.com/gpu", "present", NE)
SPOT_PREFER = Taint("spot", "true", PNS)


def _pool(name: str, role: PoolRole, arch: Arch, taints: tuple[Taint, ...] = ()) -> PoolPlan:
    """A pool with only the fields the scheduler model reads."""
    return pool_from_description(
        name,
        role.value,
        arch.value,
        {POOL_LABEL: name, ROLE_LABEL: role.value},
        [taint.to_kubernetes() for taint in taints],
    )


SYSTEM = NodeProfile.of_pool(_pool("system", PoolRole.SYSTEM, Arch.AMD64, (CRITICAL,)))
ARM_WORKERS = NodeProfile.of_pool(_pool("arm", PoolRole.WORKERS, Arch.ARM64))
X86_WORKERS = NodeProfile.of_pool(_pool("x86", PoolRole.WORKERS, Arch.AMD64, (AMD64_TAINT,)))


def _required(*terms: Mapping[str, Any]) -> dict[str, Any]:
    """A pod ``affinity`` dict holding only the given required nodeSelectorTerms."""
    return {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}
    }


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    """One matchExpressions entry; ``values`` is left out when empty, as users usually write it."""
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


def _term(*expressions: Mapping[str, Any]) -> dict[str, Any]:
    return {"matchExpressions": list(expressions)}


# --------------------------------------------------------------------------------------- nodeSelector

LABELS = {ARCH_LABEL: "arm64", OS_LABEL: "linux", ROLE_LABEL: "workers", "size": "8"}


@pytest.mark.parametrize(
    ("node_selector", "expected"),
    [
        pytest.param(None, True, id="none-selects-all"),
        pytest.param({}, True, id="empty-selects-all"),
        pytest.param({ARCH_LABEL: "arm64"}, True, id="single-exact-match"),
        pytest.param({ARCH_LABEL: "arm64", ROLE_LABEL: "workers"}, True, id="all-entries-match"),
        pytest.param({ARCH_LABEL: "arm64", ROLE_LABEL: "system"}, False, id="one-entry-fails-AND"),
        pytest.param({ARCH_LABEL: "amd64"}, False, id="value-differs"),
        pytest.param({"missing": "x"}, False, id="label-absent"),
        pytest.param({"missing": ""}, False, id="empty-value-does-not-match-absent-label"),
        pytest.param({ARCH_LABEL: "ARM64"}, False, id="case-sensitive"),
    ],
)
def test_selector_matches(node_selector: Mapping[str, str] | None, expected: bool) -> None:
    assert selector_matches(node_selector, LABELS) is expected


# ----------------------------------------------------------------------------- required node affinity


@pytest.mark.parametrize(
    ("affinity", "expected"),
    [
        # no constraint
        pytest.param(None, True, id="no-affinity"),
        pytest.param({}, True, id="empty-affinity"),
        pytest.param({"podAntiAffinity": {"x": 1}}, True, id="pod-anti-affinity-ignored"),
        pytest.param(
            {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 1, "preference": _term(_expr(ARCH_LABEL, "In", "amd64"))}
                    ]
                }
            },
            True,
            id="preferred-only-ignored",
        ),
        # empty shapes select nothing
        pytest.param(_required(), False, id="empty-terms-list-matches-nothing"),
        pytest.param(
            {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}},
            False,
            id="required-without-terms-matches-nothing",
        ),
        pytest.param(_required({}), False, id="empty-term-matches-nothing"),
        pytest.param(_required({"matchExpressions": []}), False, id="term-with-empty-expressions"),
        pytest.param(
            _required({}, _term(_expr(ARCH_LABEL, "Exists"))), True, id="empty-term-skipped-other-matches"
        ),
        # In
        pytest.param(_required(_term(_expr(ARCH_LABEL, "In", "arm64"))), True, id="in-match"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "In", "amd64", "arm64"))), True, id="in-any-value"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "In", "amd64"))), False, id="in-no-match"),
        pytest.param(_required(_term(_expr("missing", "In", "x"))), False, id="in-label-absent"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "In"))), False, id="in-without-values-invalid"),
        # NotIn
        pytest.param(_required(_term(_expr("missing", "NotIn", "x"))), True, id="notin-label-absent-true"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "NotIn", "amd64"))), True, id="notin-other-value"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "NotIn", "arm64"))), False, id="notin-listed-value"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "NotIn"))), False, id="notin-without-values-invalid"),
        # Exists / DoesNotExist
        pytest.param(_required(_term(_expr(ARCH_LABEL, "Exists"))), True, id="exists-present"),
        pytest.param(_required(_term(_expr("missing", "Exists"))), False, id="exists-absent"),
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "Exists", "x"))), False, id="exists-with-values-invalid"
        ),
        pytest.param(_required(_term(_expr("missing", "DoesNotExist"))), True, id="doesnotexist-absent"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "DoesNotExist"))), False, id="doesnotexist-present"),
        # Gt / Lt (label "size" is "8", ARCH_LABEL is not an integer)
        pytest.param(_required(_term(_expr("size", "Gt", "7"))), True, id="gt-greater"),
        pytest.param(_required(_term(_expr("size", "Gt", "8"))), False, id="gt-equal-is-false"),
        pytest.param(_required(_term(_expr("size", "Gt", "-1"))), True, id="gt-negative-bound"),
        pytest.param(_required(_term(_expr("size", "Gt", "+7"))), True, id="gt-signed-bound"),
        pytest.param(_required(_term(_expr("size", "Lt", "9"))), True, id="lt-less"),
        pytest.param(_required(_term(_expr("size", "Lt", "8"))), False, id="lt-equal-is-false"),
        pytest.param(_required(_term(_expr("missing", "Gt", "1"))), False, id="gt-label-absent"),
        pytest.param(_required(_term(_expr("missing", "Lt", "1"))), False, id="lt-label-absent"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "Gt", "1"))), False, id="gt-label-non-integer"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "Lt", "1"))), False, id="lt-label-non-integer"),
        pytest.param(_required(_term(_expr("size", "Gt", "seven"))), False, id="gt-bound-non-integer"),
        pytest.param(_required(_term(_expr("size", "Gt", "1.5"))), False, id="gt-bound-float"),
        pytest.param(_required(_term(_expr("size", "Gt", "1", "2"))), False, id="gt-two-values-invalid"),
        pytest.param(_required(_term(_expr("size", "Lt"))), False, id="lt-no-value-invalid"),
        pytest.param(
            _required(_term(_expr("size", "Gt", "9223372036854775808"))), False, id="gt-bound-overflows-int64"
        ),
        # OR of terms, AND of expressions
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "In", "amd64")), _term(_expr(ROLE_LABEL, "In", "workers"))),
            True,
            id="terms-ORed-second-matches",
        ),
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "In", "amd64")), _term(_expr(ROLE_LABEL, "In", "system"))),
            False,
            id="terms-ORed-none-matches",
        ),
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "In", "arm64"), _expr(ROLE_LABEL, "In", "workers"))),
            True,
            id="expressions-ANDed-all-hold",
        ),
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "In", "arm64"), _expr(ROLE_LABEL, "In", "system"))),
            False,
            id="expressions-ANDed-one-fails",
        ),
        # matchFields cannot be proven for a pool
        pytest.param(
            _required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}),
            False,
            id="matchfields-only-not-evaluable",
        ),
        pytest.param(
            _required(
                {
                    "matchExpressions": [_expr(ARCH_LABEL, "Exists")],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
                }
            ),
            False,
            id="matchfields-with-matching-expressions-not-evaluable",
        ),
    ],
)
def test_required_affinity_matches(affinity: Mapping[str, Any] | None, expected: bool) -> None:
    assert required_affinity_matches(affinity, LABELS) is expected


@pytest.mark.parametrize(
    "affinity",
    [
        pytest.param(_required(_term(_expr(ARCH_LABEL, "Equals", "arm64"))), id="unknown-name"),
        pytest.param(_required(_term(_expr(ARCH_LABEL, "in", "arm64"))), id="wrong-case"),
        pytest.param(_required(_term({"key": ARCH_LABEL, "values": ["arm64"]})), id="missing-operator"),
        pytest.param(
            _required(_term(_expr(ARCH_LABEL, "Exists")), _term(_expr(ARCH_LABEL, "Bogus"))),
            id="in-later-term-after-a-match",
        ),
    ],
)
def test_unknown_operator_raises(affinity: Mapping[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown node selector operator"):
        required_affinity_matches(affinity, LABELS)


def test_unknown_operator_error_names_it() -> None:
    with pytest.raises(ValueError, match="'Equals'"):
        required_affinity_matches(_required(_term(_expr(ARCH_LABEL, "Equals", "arm64"))), LABELS)


# ------------------------------------------------------------------------------------ tolerations


@pytest.mark.parametrize(
    ("tolerations", "taint", "expected"),
    [
        pytest.param(None, CRITICAL, False, id="no-tolerations"),
        pytest.param([], CRITICAL, False, id="empty-tolerations"),
        pytest.param([CRITICAL.toleration()], CRITICAL, True, id="exact-equal"),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
            CRITICAL,
            True,
            id="absent-operator-defaults-to-equal",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "", "value": "true"}],
            CRITICAL,
            True,
            id="empty-operator-defaults-to-equal",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Equal", "value": "false"}],
            CRITICAL,
            False,
            id="equal-value-differs",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Equal"}],
            CRITICAL,
            False,
            id="equal-missing-value-vs-taint-with-value",
        ),
        pytest.param(
            [{"key": "dedicated", "operator": "Equal"}],
            Taint("dedicated", "", NS),
            True,
            id="equal-missing-value-vs-empty-taint-value",
        ),
        pytest.param(
            [{"key": "criticaladdonsonly", "operator": "Equal", "value": "true"}],
            CRITICAL,
            False,
            id="key-case-sensitive",
        ),
        pytest.param(
            [{"key": "other", "operator": "Equal", "value": "true"}], CRITICAL, False, id="equal-key-differs"
        ),
        pytest.param(
            [{"operator": "Equal", "value": "true"}], CRITICAL, False, id="equal-without-key-is-invalid"
        ),
        pytest.param([{"key": "CriticalAddonsOnly", "operator": "Exists"}], CRITICAL, True, id="exists-key"),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Exists", "value": "ignored"}],
            CRITICAL,
            True,
            id="exists-ignores-value",
        ),
        pytest.param([{"key": "other", "operator": "Exists"}], CRITICAL, False, id="exists-other-key"),
        pytest.param([{"operator": "Exists"}], CRITICAL, True, id="exists-without-key-tolerates-all"),
        pytest.param([{"operator": "Exists"}], GPU_EXECUTE, True, id="exists-without-key-noexecute"),
        pytest.param(
            [{"operator": "Exists", "effect": "NoExecute"}],
            CRITICAL,
            False,
            id="exists-without-key-effect-must-match",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": ""}],
            CRITICAL,
            True,
            id="empty-effect-matches-noschedule",
        ),
        pytest.param(
            [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": ""}],
            GPU_EXECUTE,
            True,
            id="empty-effect-matches-noexecute",
        ),
        pytest.param(
            [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}],
            GPU_EXECUTE,
            True,
            id="absent-effect-matches-all",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoExecute"}],
            CRITICAL,
            False,
            id="effect-differs",
        ),
        pytest.param(
            [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "PreferNoSchedule"}],
            CRITICAL,
            False,
            id="prefer-toleration-does-not-cover-noschedule",
        ),
        pytest.param(
            [{"key": "size", "operator": "Gt", "value": "1"}],
            Taint("size", "2", NS),
            False,
            id="unknown-operator-tolerates-nothing",
        ),
        pytest.param(
            [{"key": "other", "operator": "Exists"}, CRITICAL.toleration()],
            CRITICAL,
            True,
            id="any-toleration-suffices",
        ),
    ],
)
def test_tolerates(tolerations: Sequence[Mapping[str, Any]] | None, taint: Taint, expected: bool) -> None:
    assert tolerates(tolerations, taint) is expected


@pytest.mark.parametrize(
    ("tolerations", "taints", "expected"),
    [
        pytest.param(None, (), [], id="no-taints"),
        pytest.param(None, (SPOT_PREFER,), [], id="prefernoschedule-never-blocks"),
        pytest.param(None, (CRITICAL, SPOT_PREFER, GPU_EXECUTE), [CRITICAL, GPU_EXECUTE], id="order-kept"),
        pytest.param([CRITICAL.toleration()], (CRITICAL, GPU_EXECUTE), [GPU_EXECUTE], id="noexecute-blocks"),
        pytest.param([{"operator": "Exists"}], (CRITICAL, GPU_EXECUTE, SPOT_PREFER), [], id="tolerate-all"),
    ],
)
def test_untolerated_taints(
    tolerations: Sequence[Mapping[str, Any]] | None, taints: tuple[Taint, ...], expected: list[Taint]
) -> None:
    assert untolerated_taints(tolerations, taints) == expected


# ------------------------------------------------------------------------------------ images


def test_pod_images_includes_every_container_kind_once() -> None:
    spec = {
        "initContainers": [{"name": "i", "image": "init:1"}],
        "containers": [{"name": "a", "image": "app:1"}, {"name": "b", "image": "init:1"}],
        "ephemeralContainers": [{"name": "e", "image": "debug:1"}, {"name": "noimage"}],
    }
    assert pod_images(spec) == ("init:1", "app:1", "debug:1")


# ------------------------------------------------------------------------------------ evaluate

ARM_ONLY = frozenset({Arch.ARM64})
AMD_ONLY = frozenset({Arch.AMD64})
BOTH = frozenset({Arch.AMD64, Arch.ARM64})
IMAGE_ARCHES: dict[str, frozenset[Arch]] = {
    "multi:1": BOTH,
    "amd-only:1": AMD_ONLY,
    "arm-only:1": ARM_ONLY,
    "registry.k8s.io/defaultbackend-amd64:1.5": AMD_ONLY,
}
SYSTEM_PLACEMENT: dict[str, Any] = {
    "nodeSelector": {ROLE_LABEL: "system"},
    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
}


@pytest.mark.parametrize(
    ("pod_spec", "node", "expected"),
    [
        pytest.param(
            {"containers": [{"image": "multi:1"}]},
            ARM_WORKERS,
            Verdict("arm", True, (), ()),
            id="plain-app-on-untainted-arm",
        ),
        pytest.param(
            {"containers": [{"image": "multi:1"}]},
            SYSTEM,
            Verdict("system", False, ("taint CriticalAddonsOnly=true:NoSchedule is not tolerated",), ()),
            id="plain-app-kept-off-system-pool",
        ),
        pytest.param(
            {"containers": [{"image": "multi:1"}]},
            X86_WORKERS,
            Verdict("x86", False, ("taint kubernetes.io/arch=amd64:NoSchedule is not tolerated",), ()),
            id="plain-app-kept-off-non-preferred-arch",
        ),
        pytest.param(
            {**SYSTEM_PLACEMENT, "containers": [{"image": "multi:1"}]},
            SYSTEM,
            Verdict("system", True, (), ()),
            id="controller-on-system-pool",
        ),
        pytest.param(
            {**SYSTEM_PLACEMENT, "containers": [{"image": "multi:1"}]},
            ARM_WORKERS,
            Verdict("arm", False, ("nodeSelector node.armful.dev/role=system does not match workers",), ()),
            id="controller-kept-off-workers",
        ),
        pytest.param(
            {"nodeSelector": {ARCH_LABEL: "amd64"}, "containers": [{"image": "amd-only:1"}]},
            ARM_WORKERS,
            Verdict(
                "arm", False, ("nodeSelector kubernetes.io/arch=amd64 does not match arm64",), ("amd-only:1",)
            ),
            id="arch-selector-mismatch-and-image-lacks-arch",
        ),
        pytest.param(
            {
                "nodeSelector": {ARCH_LABEL: "amd64"},
                "tolerations": [AMD64_TAINT.toleration()],
                "containers": [{"image": "amd-only:1"}],
            },
            X86_WORKERS,
            Verdict("x86", True, (), ()),
            id="x86-only-app-opts-in",
        ),
        pytest.param(
            {"nodeSelector": {"gpu": "yes"}, "containers": [{"image": "multi:1"}]},
            ARM_WORKERS,
            Verdict("arm", False, ("nodeSelector gpu=yes does not match (node has no label gpu)",), ()),
            id="selector-label-absent",
        ),
        pytest.param(
            {
                "initContainers": [{"image": "amd-only:1"}],
                "containers": [{"image": "multi:1"}],
            },
            ARM_WORKERS,
            Verdict("arm", True, (), ("amd-only:1",)),
            id="init-container-image-lacks-arch",
        ),
        pytest.param(
            {"containers": [{"image": "multi:1"}], "ephemeralContainers": [{"image": "amd-only:1"}]},
            ARM_WORKERS,
            Verdict("arm", True, (), ("amd-only:1",)),
            id="ephemeral-container-image-lacks-arch",
        ),
        pytest.param(
            {"containers": [{"image": "unknown:1"}]},
            ARM_WORKERS,
            Verdict("arm", True, (), ()),
            id="unknown-image-not-reported",
        ),
        pytest.param(
            {"initContainers": [{"image": "arm-only:1"}], "containers": [{"image": "arm-only:1"}]},
            X86_WORKERS,
            Verdict(
                "x86", False, ("taint kubernetes.io/arch=amd64:NoSchedule is not tolerated",), ("arm-only:1",)
            ),
            id="image-reported-once",
        ),
        pytest.param(
            {
                "nodeSelector": {ROLE_LABEL: "workers", "gpu": "yes"},
                "affinity": _required(_term(_expr(ARCH_LABEL, "In", "arm64"))),
                "containers": [{"image": "registry.k8s.io/defaultbackend-amd64:1.5"}],
            },
            SYSTEM,
            Verdict(
                "system",
                False,
                (
                    "nodeSelector node.armful.dev/role=workers does not match system",
                    "nodeSelector gpu=yes does not match (node has no label gpu)",
                    "required node affinity: no nodeSelectorTerm matches the node's labels",
                    "taint CriticalAddonsOnly=true:NoSchedule is not tolerated",
                ),
                (),
            ),
            id="every-failed-filter-reported",
        ),
        pytest.param(
            {"affinity": _required(_term(_expr(ARCH_LABEL, "In", "arm64"))), "containers": [{"image": "x"}]},
            ARM_WORKERS,
            Verdict("arm", True, (), ()),
            id="affinity-match",
        ),
    ],
)
def test_evaluate(pod_spec: Mapping[str, Any], node: NodeProfile, expected: Verdict) -> None:
    assert evaluate(pod_spec, node, IMAGE_ARCHES) == expected


def test_evaluate_without_image_arches_reports_no_image() -> None:
    verdict = evaluate({"containers": [{"image": "amd-only:1"}]}, ARM_WORKERS)
    assert verdict.images_without_arch == ()
    assert verdict.runs


def test_evaluate_accepts_arches_as_plain_strings() -> None:
    """Arch sets read from a registry may hold plain platform names, including ones Armful never uses."""
    arches: dict[str, Any] = {"img:1": frozenset({"amd64", "s390x"})}
    assert evaluate({"containers": [{"image": "img:1"}]}, ARM_WORKERS, arches).images_without_arch == (
        "img:1",
    )
    assert evaluate({"containers": [{"image": "img:1"}]}, X86_WORKERS, arches).images_without_arch == ()


@pytest.mark.parametrize(
    ("verdict", "runs"),
    [
        pytest.param(Verdict("p", True, (), ()), True, id="schedulable-all-images"),
        pytest.param(Verdict("p", True, (), ("img",)), False, id="schedulable-image-lacks-arch"),
        pytest.param(Verdict("p", False, ("r",), ()), False, id="unschedulable"),
    ],
)
def test_verdict_runs(verdict: Verdict, runs: bool) -> None:
    assert verdict.runs is runs


def test_pools_for_returns_one_verdict_per_pool_in_order() -> None:
    spec = {"containers": [{"image": "arm-only:1"}]}
    verdicts = pools_for(spec, [SYSTEM, ARM_WORKERS, X86_WORKERS], IMAGE_ARCHES)
    assert [(v.pool, v.schedulable, v.runs) for v in verdicts] == [
        ("system", False, False),
        ("arm", True, True),
        ("x86", False, False),
    ]
    assert verdicts[2].images_without_arch == ("arm-only:1",)


def test_pools_for_node_agent_tolerating_everything_reaches_every_pool() -> None:
    spec = {"tolerations": [{"operator": "Exists"}], "containers": [{"image": "multi:1"}]}
    assert all(v.runs for v in pools_for(spec, [SYSTEM, ARM_WORKERS, X86_WORKERS], IMAGE_ARCHES))


# ------------------------------------------------------------------------------------ NodeProfile


def test_of_pool_uses_node_labels_and_taints() -> None:
    assert SYSTEM.name == "system"
    assert SYSTEM.arch is Arch.AMD64
    assert dict(SYSTEM.labels) == {
        POOL_LABEL: "system",
        ROLE_LABEL: "system",
        ARCH_LABEL: "amd64",
        OS_LABEL: "linux",
    }
    assert SYSTEM.taints == (CRITICAL,)


def test_node_profile_rejects_contradictory_arch_label() -> None:
    with pytest.raises(ValueError, match="contradicts"):
        NodeProfile("p", Arch.ARM64, {ARCH_LABEL: "amd64"}, ())


def test_node_profile_is_immutable_and_hashable() -> None:
    labels = {ARCH_LABEL: "arm64"}
    profile = NodeProfile("p", Arch.ARM64, labels, [CRITICAL])  # type: ignore[arg-type]
    labels["late"] = "x"
    assert "late" not in profile.labels
    assert profile.taints == (CRITICAL,)
    with pytest.raises(TypeError):
        profile.labels["x"] = "y"  # type: ignore[index]
    assert hash(profile) == hash(NodeProfile("p", Arch.ARM64, {ARCH_LABEL: "arm64"}, (CRITICAL,)))


# ------------------------------------------------------------------------------------ properties

_keys = st.sampled_from(["a", "b", "c", "example.com/d", ARCH_LABEL, "CriticalAddonsOnly"])
_values = st.text(alphabet="xyz01", max_size=3)
_taints = st.builds(Taint, key=_keys, value=_values, effect=st.sampled_from(list(TaintEffect)))


@given(
    taints=st.lists(_taints, max_size=6),
    blocked=st.builds(Taint, key=_keys, value=_values, effect=st.just(NS)),
    position=st.integers(min_value=0, max_value=6),
)
def test_property_own_tolerations_admit_and_dropping_one_blocks(
    taints: list[Taint], blocked: Taint, position: int
) -> None:
    """A pool's own tolerations are what Armful gives node agents; losing one must strand the pod."""
    taints.insert(position % (len(taints) + 1), blocked)
    tolerations = [taint.toleration() for taint in taints]
    assert all(tolerates(tolerations, taint) for taint in taints)
    assert untolerated_taints(tolerations, taints) == []

    missing_one = [toleration for toleration in tolerations if toleration != blocked.toleration()]
    node = NodeProfile("pool", Arch.ARM64, {ARCH_LABEL: "arm64"}, tuple(taints))
    verdict = evaluate({"tolerations": missing_one}, node)
    assert not verdict.schedulable
    assert set(verdict.reasons) == {f"taint {blocked} is not tolerated"}


_label_keys = st.sampled_from(["a", "b", "c", "example.com/d", ARCH_LABEL, OS_LABEL, ROLE_LABEL])


@given(labels=st.dictionaries(_label_keys, _values, min_size=1), data=st.data())
def test_property_selector_from_labels_matches_and_one_change_does_not(
    labels: dict[str, str], data: st.DataObject
) -> None:
    """A selector copied from a pool's labels must select it; one changed value must not."""
    chosen = data.draw(st.lists(st.sampled_from(sorted(labels)), min_size=1, unique=True), label="subset")
    selector = {key: labels[key] for key in chosen}
    assert selector_matches(selector, labels)

    changed_key = data.draw(st.sampled_from(chosen), label="changed key")
    new_value = data.draw(_values.filter(lambda value: value != labels[changed_key]), label="new value")
    assert not selector_matches({**selector, changed_key: new_value}, labels)
