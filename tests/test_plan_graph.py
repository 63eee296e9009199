"""``plan --format dot`` / ``svg``: the graph parses, and each thing sits where the plan puts it.

The graph is read back with Graphviz's own ``dot -Tjson`` (what it laid out, which box holds which
node, the text it drew), not with the code that wrote it. The pools, colours and cluster names expected
below are written out by hand from the example stack files.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from example_stacks import ROOT, STACKS_DIR

from armful.cli import plan_graph
from armful.cli.plan_graph import GraphvizFailed, GraphvizMissing, dot_string, plan_dot, render_svg, safe_id
from armful.core.pools import pool_from_description
from armful.planning.plan import Plan
from armful.planning.stack_plan import plan_stack

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(
    DOT is None, reason="Graphviz's dot is not installed (apt-get install graphviz) to parse the graph"
)

ARM64_FILL = "#ffe3c2"
AMD64_FILL = "#d4e6f9"
RED = "#d62728"
EKS_MANAGED_FILL = "#e4e4e4"

SYSTEM_ARM = "system pool, arm64 (Graviton)"
WORKERS_ARM = "workers pool, arm64 (Graviton)"
# stack → pool → (its cluster, its fill, the second line of its label), in plan order.
POOLS: dict[str, dict[str, tuple[str, str, str]]] = {
    "arm-workers": {
        "system": ("cluster_pool_system", AMD64_FILL, "system pool, amd64 (x86)"),
        "general-arm": ("cluster_pool_general_2d_arm", ARM64_FILL, WORKERS_ARM),
        "batch-arm-spot": ("cluster_pool_batch_2d_arm_2d_spot", ARM64_FILL, WORKERS_ARM),
    },
    "all-arm": {
        "system": ("cluster_pool_system", ARM64_FILL, SYSTEM_ARM),
        "general": ("cluster_pool_general", ARM64_FILL, WORKERS_ARM),
        "elastic": ("cluster_pool_elastic", ARM64_FILL, "Karpenter NodePool, arm64 (Graviton)"),
        "memory": ("cluster_pool_memory", ARM64_FILL, "Karpenter NodePool, arm64 (Graviton)"),
    },
    "mixed": {
        "system": ("cluster_pool_system", ARM64_FILL, SYSTEM_ARM),
        "arm": ("cluster_pool_arm", ARM64_FILL, WORKERS_ARM),
        "x86-legacy": ("cluster_pool_x86_2d_legacy", AMD64_FILL, "workers pool, amd64 (x86)"),
    },
}
# The DaemonSets of the example stacks: every one reaches every pool.
NODE_AGENTS = [
    "addon:aws-ebs-csi-driver/ebs-csi-node",
    "addon:eks-pod-identity-agent/eks-pod-identity-agent",
    "addon:falco/falco",
    "addon:fluent-bit/fluent-bit",
    "addon:kube-prometheus-stack/node-exporter",
    "addon:kube-proxy/kube-proxy",
    "addon:vpc-cni/aws-node",
]


class Layout:
    """What ``dot -Tjson`` laid out: boxes (clusters), nodes and edges by name."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.graph = document
        objects = {obj["_gvid"]: obj for obj in document.get("objects", [])}
        self.clusters = {obj["name"]: obj for obj in objects.values() if "nodes" in obj}
        self.nodes = {obj["name"]: obj for obj in objects.values() if "nodes" not in obj}
        self.edges = [
            (objects[edge["tail"]]["name"], objects[edge["head"]]["name"], edge)
            for edge in document.get("edges", [])
        ]
        self._names = {gvid: obj["name"] for gvid, obj in objects.items()}

    def members(self, cluster: str) -> set[str]:
        return {self._names[gvid] for gvid in self.clusters[cluster]["nodes"]}

    def cluster_of(self, node: str) -> list[str]:
        return [name for name in self.clusters if node in self.members(name)]

    def visible_edges_from(self, node: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (head, edge) for tail, head, edge in self.edges if tail == node and edge.get("style") != "invis"
        ]

    def text(self, obj: dict[str, Any]) -> list[str]:
        """The lines Graphviz drew for a node or the graph: escapes resolved, as a reader sees them."""
        return [op["text"] for op in obj.get("_ldraw_", []) if op["op"] == "T"]


def layout(dot_text: str) -> Layout:
    """Lay the graph out with Graphviz; any warning (a bad ``lhead``, a syntax error) fails the test."""
    assert DOT is not None
    result = subprocess.run(
        [DOT, "-Tjson"], input=dot_text, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return Layout(json.loads(result.stdout))


@pytest.fixture
def plan_of(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Plan]:
    """Plans by stack name, as ``armful plan --stack`` finds them from the project's folder."""
    monkeypatch.chdir(ROOT)
    return lambda stack: plan_stack(stack=stack)


def _stack_file(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    """all-arm's stack file, edited, saved as ``Pulumi.<name>.yaml`` (the stack is then ``name``)."""
    document = yaml.safe_load((STACKS_DIR / "Pulumi.all-arm.yaml").read_text())
    edit(document["config"])
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@needs_dot
def test_each_pool_is_one_box_filled_by_its_arch(example_stack: str, plan_of: Callable[[str], Plan]) -> None:
    graph = layout(plan_dot(plan_of(example_stack)))

    expected = POOLS[example_stack]
    assert set(graph.clusters) == {cluster for cluster, _, _ in expected.values()} | {"cluster_legend"}
    for pool, (cluster, fill, kind) in expected.items():
        assert (graph.clusters[cluster]["style"], graph.clusters[cluster]["fillcolor"]) == ("filled", fill)
        assert graph.cluster_of(f"pool:{pool}") == [cluster]
        assert graph.text(graph.nodes[f"pool:{pool}"])[:2] == [pool, kind]
    assert graph.nodes["legend:arm64"]["fillcolor"] == ARM64_FILL
    assert graph.nodes["legend:amd64"]["fillcolor"] == AMD64_FILL


@needs_dot
def test_node_agents_are_drawn_once_with_an_edge_into_each_pool(
    example_stack: str, plan_of: Callable[[str], Plan]
) -> None:
    graph = layout(plan_dot(plan_of(example_stack)))

    pools = POOLS[example_stack]
    agents = sorted(name for name, node in graph.nodes.items() if node.get("shape") == "ellipse")
    assert agents == sorted([*NODE_AGENTS, "legend:agent"])
    for agent in NODE_AGENTS:
        assert graph.cluster_of(agent) == []
        edges = graph.visible_edges_from(agent)
        assert [head for head, _ in edges] == [f"pool:{pool}" for pool in pools]
        assert [edge["lhead"] for _, edge in edges] == [cluster for cluster, _, _ in pools.values()]


@needs_dot
def test_mixed_puts_each_workload_in_the_pool_it_lands_on(plan_of: Callable[[str], Plan]) -> None:
    graph = layout(plan_dot(plan_of("mixed")))

    system = graph.members("cluster_pool_system")
    assert "addon:kube-prometheus-stack/prometheus" in system
    assert graph.text(graph.nodes["addon:kube-prometheus-stack/prometheus"]) == [
        "kube-prometheus-stack/prometheus"
    ]
    assert graph.members("cluster_pool_x86_2d_legacy") == {"pool:x86-legacy", "app:legacy-billing@x86-legacy"}
    assert graph.members("cluster_pool_arm") == {"pool:arm", "app:checkout@arm"}
    # Everything but the node agents lands on the system pool: 23 workloads and the pool's header.
    assert len(system) == 24
    assert not any(name.startswith("app:") for name in system)

    assert graph.nodes["addon:kube-prometheus-stack/prometheus"]["shape"] == "box3d"
    assert graph.nodes["addon:metrics-server/metrics-server"]["shape"] == "box"
    hook = graph.nodes["addon:cert-manager/startupapicheck"]
    assert (hook["shape"], hook["style"]) == ("note", "filled,dashed")
    assert graph.nodes["addon:coredns/coredns"]["fillcolor"] == EKS_MANAGED_FILL
    assert graph.nodes["addon:vpc-cni/aws-node"]["fillcolor"] == EKS_MANAGED_FILL
    assert graph.nodes["addon:falco/falco"]["fillcolor"] == "#ffffff"
    assert graph.nodes["app:checkout@arm"]["shape"] == "tab"


@needs_dot
def test_a_pool_box_says_what_the_pool_is(plan_of: Callable[[str], Plan]) -> None:
    mixed = layout(plan_dot(plan_of("mixed")))
    assert mixed.text(mixed.nodes["pool:x86-legacy"]) == [
        "x86-legacy",
        "workers pool, amd64 (x86)",
        "min 1 x m7i.xlarge",
        "taint kubernetes.io/arch=amd64:NoSchedule",
    ]
    assert mixed.text(mixed.nodes["pool:system"]) == [
        "system",
        "system pool, arm64 (Graviton)",
        "min 3 x m7g.large",
        "taint CriticalAddonsOnly=true:NoSchedule",
    ]
    assert mixed.text(mixed.graph) == [
        "payments-mixed: stack mixed, region us-east-1",
        "topology mixed (x86 and Graviton worker pools side by side)",
    ]
    workers = layout(plan_dot(plan_of("arm-workers")))
    assert workers.text(workers.nodes["pool:batch-arm-spot"]) == [
        "batch-arm-spot",
        "workers pool, arm64 (Graviton)",
        "min 0 x c8g.2xlarge, spot",
        "taint example.com/spot=true:NoSchedule",
    ]


@needs_dot
def test_a_pool_without_a_node_type_has_no_size_line(plan_of: Callable[[str], Plan]) -> None:
    """A pool of a cluster Armful did not create: placement only, no instance type, no capacity."""
    plan = plan_of("mixed")
    described = pool_from_description("x86-legacy", "workers", "amd64")
    pools = tuple(described if pool.name == "x86-legacy" else pool for pool in plan.pools)
    capacity = tuple(c for c in plan.capacity if c.pool.name != "x86-legacy")
    graph = layout(plan_dot(dataclasses.replace(plan, pools=pools, capacity=capacity)))

    assert graph.text(graph.nodes["pool:x86-legacy"]) == ["x86-legacy", "workers pool, amd64 (x86)"]
    assert graph.clusters["cluster_pool_x86_2d_legacy"]["color"] == "#4a7fb5"


@needs_dot
def test_the_rows_of_a_busy_pool_read_in_plan_order(plan_of: Callable[[str], Plan]) -> None:
    """Graphviz's second crossing pass used to rotate rows (cleanup-controller first) in arm-workers."""
    graph = layout(plan_dot(plan_of("arm-workers")))

    first_row = [
        "addon:aws-load-balancer-controller/controller",
        "addon:kyverno/admission-controller",
        "addon:kyverno/background-controller",
        "addon:kyverno/cleanup-controller",
    ]
    positions = [tuple(map(float, graph.nodes[name]["pos"].split(","))) for name in first_row]
    assert len({y for _, y in positions}) == 1
    assert [x for x, _ in positions] == sorted(x for x, _ in positions)


@needs_dot
def test_stranded_workloads_and_a_pool_too_small_show_in_red(tmp_path: Path) -> None:
    """all-arm has no amd64 pool for an amd64-only app; one m7g.medium cannot hold the system add-ons.
    The stack file's name, which becomes the stack's, holds a quote and a backslash."""

    def edit(config: dict[str, Any]) -> None:
        config["armful:systemPool"].update(instanceTypes=["m7g.medium"], minSize=1)
        config["armful:workloads"] = [
            {"name": "legacy-billing", "images": ["registry.example.com/billing:4.2.1"], "arches": ["amd64"]}
        ]

    plan = plan_stack(stack_file=_stack_file(tmp_path, 'we"ird\\name', edit))
    graph = layout(plan_dot(plan))

    assert graph.members("cluster_stranded") == {"stranded", "app:legacy-billing"}
    assert graph.clusters["cluster_stranded"]["color"] == RED
    assert graph.text(graph.nodes["stranded"]) == ["stranded: lands on NO pool"]
    stranded_app = graph.nodes["app:legacy-billing"]
    assert (stranded_app["color"], stranded_app["fontcolor"]) == (RED, RED)

    system = graph.clusters["cluster_pool_system"]
    assert (system["color"], system["penwidth"]) == (RED, "3")
    assert graph.text(graph.nodes["pool:system"])[-1] == "pods do NOT fit at min size"
    assert graph.clusters["cluster_pool_general"]["color"] == "#d9822b"
    assert graph.text(graph.graph)[0] == 'analytics-all-arm: stack we"ird\\name, region eu-west-1'


@needs_dot
def test_names_with_quotes_backslashes_and_line_breaks_are_drawn_as_they_are(
    plan_of: Callable[[str], Plan],
) -> None:
    """Config validation keeps such names out today; the graph must not depend on it."""
    plan = plan_of("mixed")
    odd = 'ar"m\\\nx\\N'

    def rename(pools: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(odd if pool == "arm" else pool for pool in pools)

    odd_plan = dataclasses.replace(
        plan,
        pools=tuple(dataclasses.replace(p, name=odd) if p.name == "arm" else p for p in plan.pools),
        placement=tuple(
            dataclasses.replace(
                e, pools=rename(e.pools), workload='fal"co\\' if e.release == "falco" else e.workload
            )
            for e in plan.placement
        ),
        workloads=tuple(dataclasses.replace(w, pools=rename(w.pools)) for w in plan.workloads),
        capacity=tuple(c for c in plan.capacity if c.pool.name != "arm"),
    )
    graph = layout(plan_dot(odd_plan))

    # Graphviz keeps ids as written, escapes and all, so the nodes are found by what it drew.
    cluster = "cluster_pool_ar_22_m_5c__a_x_5c_N"
    drawn = {tuple(graph.text(graph.nodes[name])): name for name in graph.members(cluster)}
    assert set(drawn) == {
        ('ar"m\\', "x\\N", "workers pool, arm64 (Graviton)", "min 2 x m8g.xlarge"),
        ("checkout",),
    }
    falco = next(name for name, node in graph.nodes.items() if graph.text(node) == ['falco/fal"co\\'])
    assert [head for head, _ in graph.visible_edges_from(falco)] == [
        "pool:system",
        drawn[('ar"m\\', "x\\N", "workers pool, arm64 (Graviton)", "min 2 x m8g.xlarge")],
        "pool:x86-legacy",
    ]
    assert [edge["lhead"] for _, edge in graph.visible_edges_from(falco)] == [
        "cluster_pool_system",
        cluster,
        "cluster_pool_x86_2d_legacy",
    ]


def test_dot_string_escapes_what_dot_would_read_otherwise() -> None:
    assert dot_string("plain") == '"plain"'
    assert dot_string('say "hi"') == '"say \\"hi\\""'
    assert dot_string("ends in \\") == '"ends in \\\\"'
    assert dot_string("\\N is not the node name") == '"\\\\N is not the node name"'
    assert dot_string("two\nlines\r\nthree\rfour") == '"two\\nlines\\nthree\\nfour"'


def test_safe_ids_are_identifiers_and_never_shared() -> None:
    assert safe_id("x86-legacy") == "x86_2d_legacy"
    assert safe_id("general") == "general"
    names = ["a-b", "a_b", "a.b", "a_2d_b", "a2db", "ab"]
    assert len({safe_id(name) for name in names}) == len(names)
    assert all(safe_id(name).replace("_", "").isalnum() for name in names)


def test_the_same_plan_gives_the_same_bytes_in_fresh_interpreters() -> None:
    """String hashing differs between processes: a set or dict order leaking into the text shows here."""
    program = "from armful.planning.stack_plan import plan_stack; from armful.cli.plan_graph import plan_dot; import sys; sys.stdout.write(plan_dot(plan_stack(stack='mixed')))"
    outputs = [
        subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(b"digraph armful_plan {\n")


@needs_dot
def test_render_svg_draws_the_plan(plan_of: Callable[[str], Plan]) -> None:
    svg = render_svg(plan_dot(plan_of("mixed")))

    assert svg.startswith(b"<?xml")
    assert b"<svg" in svg
    assert b">coredns/coredns</text>" in svg


def test_render_svg_without_graphviz_says_how_to_install_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dot"
    with pytest.raises(GraphvizMissing) as raised:
        render_svg("digraph { a }", dot_binary=str(missing))

    message = str(raised.value)
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message
    assert "--format dot" in message
    assert str(missing) in message


@needs_dot
def test_render_svg_reports_what_dot_said() -> None:
    with pytest.raises(GraphvizFailed, match="syntax error"):
        render_svg("digraph { a -> }")


def test_render_svg_gives_up_on_a_dot_that_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hanging = tmp_path / "dot"
    hanging.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    hanging.chmod(0o755)
    monkeypatch.setattr(plan_graph, "RENDER_TIMEOUT_SECONDS", 0.5)

    with pytest.raises(GraphvizFailed, match="did not finish"):
        render_svg("digraph { a }", dot_binary=str(hanging))


@needs_dot
def test_plan_writes_the_graph_as_dot_or_svg(capsys: pytest.CaptureFixture[str]) -> None:
    from armful.cli.main import main

    assert main(["plan", "--stack", "mixed", "--format", "dot"]) == 0
    boxes = set(layout(capsys.readouterr().out).clusters)
    assert {"cluster_pool_system", "cluster_pool_arm", "cluster_pool_x86_2d_legacy"} <= boxes
    assert main(["plan", "--stack", "mixed", "--format", "svg"]) == 0
    assert "<svg" in capsys.readouterr().out


def test_plan_svg_without_graphviz_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from armful.cli.main import main

    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["plan", "--stack", "all-arm", "--format", "svg"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "apt-get install graphviz" in captured.err and "--format dot works without it" in captured.err


def test_the_readmes_picture_is_the_mixed_stacks_current_graph(plan_of: Callable[[str], Plan]) -> None:
    """docs/plan-mixed.svg is `armful plan --stack mixed --format svg`: regenerate it when this fails."""
    svg = (ROOT / "docs" / "plan-mixed.svg").read_text()
    drawn = set(re.findall(r"<title>(.*?)</title>", svg))
    wanted = set(re.findall(r'^\s+"([^"]+)" \[', plan_dot(plan_of("mixed")), flags=re.MULTILINE))
    assert wanted and wanted <= {html.unescape(title) for title in drawn}
    if DOT is not None:
        # Every node, edge, label and colour the current plan draws, whatever Graphviz's layout.
        fresh = render_svg(plan_dot(plan_of("mixed"))).decode()

        def drawing(text: str) -> tuple[list[str], ...]:
            return tuple(
                sorted(re.findall(pattern, text))
                for pattern in (r"<title>(.*?)</title>", r">([^<>]+)</text>", r'fill="(#[0-9a-f]+)"')
            )

        assert drawing(svg) == drawing(fresh)
    assert "(docs/plan-mixed.svg)" in (ROOT / "README.md").read_text()
