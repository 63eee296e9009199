"""``plan --format dot`` and ``--format svg``: where everything lands, as a picture.

Each pool is a box filled by its arch; what lands on one pool sits inside it; a node agent, which
lands on many pools, is drawn once with an edge to each pool it reaches, so the picture stays readable
however many agents there are; whatever lands on no pool sits in a red "stranded" box.

Names come from the user's config, so every id and attribute value is written with ``dot_string``.
The text depends on nothing but the plan (no sets, no clocks), so a plan's graph can be diffed and
committed next to its stack.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from armful.core.arch import Arch
from armful.core.pools import CapacityType, PoolPlan, Provisioner
from armful.planning.plan import Plan

ARM64_FILL = "#ffe3c2"
"""Graviton pools: a warm orange."""
AMD64_FILL = "#d4e6f9"
"""x86 pools: a cool blue, light and dark enough apart to tell from orange printed in grey too."""
_ARCH_FILLS = {Arch.ARM64: ARM64_FILL, Arch.AMD64: AMD64_FILL}
_ARCH_BORDERS = {Arch.ARM64: "#d9822b", Arch.AMD64: "#4a7fb5"}
_ARCH_NAMES = {Arch.ARM64: "arm64 (Graviton)", Arch.AMD64: "amd64 (x86)"}

STRANDED_COLOR = "#d62728"
_HELM_FILL = "#ffffff"
_EKS_MANAGED_FILL = "#e4e4e4"
_USER_ATTRS = {"shape": "tab", "fillcolor": "#d8f0d2", "tooltip": "your workload"}
_KIND_SHAPES = {"Deployment": "box", "StatefulSet": "box3d", "Job": "note", "DaemonSet": "ellipse"}
"""Shapes by Kubernetes kind; a kind Armful does not know yet is drawn as a box."""

MAX_COLUMNS = 4
"""Workloads in a pool are laid out in rows of at most this many, so a busy system pool grows down
the page instead of into one very long row."""

RENDER_TIMEOUT_SECONDS = 60
"""Graphviz lays out a plan's few dozen nodes in well under a second; a hang is a broken install."""


class GraphvizMissing(Exception):
    """Graphviz's ``dot`` is not installed: ``--format svg`` needs it, ``--format dot`` does not."""

    def __init__(self, looked_for: str) -> None:
        self.looked_for = looked_for
        super().__init__(
            f"Graphviz's dot program was not found (looked for {looked_for!r}); --format svg needs it. "
            "Install it: apt-get install graphviz (Debian/Ubuntu) or brew install graphviz (macOS). "
            "--format dot works without it: render that file with Graphviz wherever it is installed."
        )


class GraphvizFailed(RuntimeError):
    """``dot`` ran and refused the graph, or did not finish; the message carries what it said."""


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string that shows exactly ``text``.

    A backslash is doubled, so a name holding ``\\N`` or ending in ``\\`` neither expands to a Graphviz
    escape nor swallows the closing quote; a line break becomes DOT's centred ``\\n``.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n") + '"'


def safe_id(name: str) -> str:
    """``name`` in letters, digits and underscores, one name to one id (``x86-legacy`` →
    ``x86_2d_legacy``): SVG ids and CSS selectors made from cluster names then need no quoting."""
    return "".join(char if char.isascii() and char.isalnum() else f"_{ord(char):x}_" for char in name)


def pool_cluster(pool_name: str) -> str:
    """The name of a pool's subgraph: Graphviz boxes subgraphs named ``cluster…``, and ``pool_`` keeps
    a pool named ``legend`` or ``stranded`` apart from those boxes."""
    return f"cluster_pool_{safe_id(pool_name)}"


@dataclass(frozen=True)
class _Node:
    id: str
    label: str
    attrs: Mapping[str, str]


def plan_dot(plan: Plan) -> str:
    """The plan as a Graphviz digraph: pools as boxes, workloads in the pool they land on, node agents
    drawn once with an edge to each pool, stranded workloads in a red box, and a legend."""
    inside: dict[str, list[_Node]] = {pool.name: [] for pool in plan.pools}
    stranded: list[_Node] = []
    spanning: list[tuple[_Node, tuple[str, ...]]] = []
    for entry in plan.placement:
        name = f"{entry.release}/{entry.workload}"
        node = _Node(f"addon:{name}", name, _addon_attrs(entry.kind, entry.hook, entry.eks_managed))
        if not entry.pools:
            stranded.append(_stranded(node))
        elif len(entry.pools) == 1:
            inside[entry.pools[0]].append(node)
        else:
            spanning.append((node, entry.pools))
    for workload in plan.workloads:
        if not workload.pools:
            stranded.append(_stranded(_Node(f"app:{workload.name}", workload.name, _USER_ATTRS)))
        for pool_name in workload.pools:
            inside[pool_name].append(_Node(f"app:{workload.name}@{pool_name}", workload.name, _USER_ATTRS))

    # A pool without capacity figures (one Armful only places add-ons on) is not judged: it fits.
    fits = {capacity.pool.name: not capacity.at_min.unplaced for capacity in plan.capacity}
    layout = {
        "compound": "true",  # for lhead: an agent's edge ends at the pool's box
        "newrank": "true",
        # Rows keep plan order: a node's out-edges in the order written, and no second crossing pass
        # over the clusters (in Graphviz 2.43 it rotated arm-workers' system pool rows).
        "ordering": "out",
        "remincross": "false",
        "nodesep": "0.2",
        "ranksep": "0.8",
        "fontname": "Helvetica",
    }
    heading = {
        "label": f"{plan.config.cluster.name}: stack {plan.stack}, region {plan.region}\n"
        f"topology {plan.topology.value} ({plan.topology.summary})",
        "labelloc": "t",
        "fontsize": "16",
    }
    out = [
        "digraph armful_plan {",
        f"  graph [{_attrs(layout)}];",
        f"  node [{_attrs({'fontname': 'Helvetica', 'fontsize': '10', 'style': 'filled'})}];",
        f"  edge [{_attrs({'color': '#666666', 'arrowsize': '0.6'})}];",
    ]
    for pool in plan.pools:
        out += _pool_cluster(pool, inside[pool.name], fits.get(pool.name, True))
    if stranded:
        title = _title("stranded", "stranded: lands on NO pool", STRANDED_COLOR)
        out += _cluster("cluster_stranded", {"style": "bold", "color": STRANDED_COLOR}, title, stranded)
    for node, pools in spanning:
        out.append(_node_statement(node, "  "))
        out += [
            _edge_statement(node.id, _header(pool), {"lhead": pool_cluster(pool)}, "  ") for pool in pools
        ]
    out += _legend()
    # Set last: a subgraph takes on the graph attributes set before it, and no box should repeat the title.
    out += [f"  graph [{_attrs(heading)}];", "}"]
    return "\n".join(out) + "\n"


def _addon_attrs(kind: str, hook: bool, eks_managed: bool) -> dict[str, str]:
    """A Helm hook is dashed (if it cannot be scheduled, ``helm install`` hangs), an EKS managed
    add-on grey (EKS installs it, not Helm)."""
    notes = [kind] + ["Helm hook"] * hook + ["EKS managed add-on"] * eks_managed
    return {
        "shape": _KIND_SHAPES.get(kind, "box"),
        "style": "filled,dashed" if hook else "filled",
        "fillcolor": _EKS_MANAGED_FILL if eks_managed else _HELM_FILL,
        "tooltip": ", ".join(notes),
    }


def _stranded(node: _Node) -> _Node:
    """The node outlined and lettered red, so it reads as a problem even cut out of its box."""
    return _Node(node.id, node.label, {**node.attrs, "color": STRANDED_COLOR, "fontcolor": STRANDED_COLOR})


def _header(pool_name: str) -> str:
    """The node at the top of a pool's box that says what the pool is."""
    return f"pool:{pool_name}"


def _pool_cluster(pool: PoolPlan, nodes: Sequence[_Node], fits_at_min_size: bool) -> list[str]:
    kind = "Karpenter NodePool" if pool.provisioner is Provisioner.KARPENTER else f"{pool.role.value} pool"
    lines = [pool.name, f"{kind}, {_ARCH_NAMES[pool.arch]}"]
    if pool.node_instance_type:
        # A pool Armful only places add-ons on, or one with no fixed node type, has no such line.
        spot = ", spot" if pool.capacity_type is CapacityType.SPOT else ""
        lines.append(f"min {pool.min_size} x {pool.node_instance_type}{spot}")
    lines += [f"taint {taint}" for taint in pool.taints]
    if not fits_at_min_size:
        lines.append("pods do NOT fit at min size")
    box = {
        "style": "filled",
        "fillcolor": _ARCH_FILLS[pool.arch],
        "color": _ARCH_BORDERS[pool.arch] if fits_at_min_size else STRANDED_COLOR,
        "penwidth": "1.5" if fits_at_min_size else "3",
        "tooltip": f"pool {pool.name}",
    }
    return _cluster(pool_cluster(pool.name), box, _title(_header(pool.name), "\n".join(lines)), nodes)


def _cluster(
    name: str, box: Mapping[str, str], header: _Node, nodes: Sequence[_Node], columns: int | None = None
) -> list[str]:
    """A box with ``header`` on top and ``nodes`` under it in rows of ``columns`` (by default about as
    many rows as columns, at most ``MAX_COLUMNS``), read left to right, top to bottom.

    Invisible edges from the header to the first row and down each column hold the grid; with the
    graph's ``ordering=out`` they also keep each row in plan order.
    """
    if columns is None:
        columns = min(MAX_COLUMNS, max(1, math.ceil(math.sqrt(len(nodes)))))
    invisible = {"style": "invis"}
    out = [f"  subgraph {dot_string(name)} {{", f"    graph [{_attrs(box)}];"]
    out += [_node_statement(node, "    ") for node in [header, *nodes]]
    # Heavier than the edges node agents send to a pool's header, which would pull it off centre.
    centred = {**invisible, "weight": "10"}
    out += [_edge_statement(header.id, node.id, centred, "    ") for node in nodes[:columns]]
    out += [
        _edge_statement(above.id, below.id, invisible, "    ")
        for above, below in zip(nodes, nodes[columns:], strict=False)
    ]
    out.append("  }")
    return out


def _title(node_id: str, text: str, color: str = "#000000") -> _Node:
    """The node that names a box. A node rather than the box's label: node agents' edges aim at it,
    and a node sits where the edges come in, so they land across the top of a box, not at its corners."""
    return _Node(
        node_id, text, {"shape": "plaintext", "style": "solid", "fontsize": "14", "fontcolor": color}
    )


def _legend() -> list[str]:
    """What the fills, shapes and lines mean, drawn with the same attributes as the plan's own."""
    plain = _addon_attrs("Deployment", hook=False, eks_managed=False)
    samples = [
        _Node("legend:arm64", "Graviton (arm64) pool", {"shape": "box", "fillcolor": ARM64_FILL}),
        _Node("legend:amd64", "x86 (amd64) pool", {"shape": "box", "fillcolor": AMD64_FILL}),
        _Node("legend:user", "your workload", _USER_ATTRS),
        _stranded(_Node("legend:stranded", "lands on NO pool", {**plain, "tooltip": "stranded"})),
        _Node("legend:deployment", "Deployment", plain),
        _Node(
            "legend:statefulset", "StatefulSet", _addon_attrs("StatefulSet", hook=False, eks_managed=False)
        ),
        _Node("legend:job", "Job", _addon_attrs("Job", hook=False, eks_managed=False)),
        _Node("legend:hook", "Helm hook Job", _addon_attrs("Job", hook=True, eks_managed=False)),
        _Node(
            "legend:agent",
            "node agent (DaemonSet):\none pod on every node",
            _addon_attrs("DaemonSet", hook=False, eks_managed=False),
        ),
        _Node("legend:eks", "EKS managed add-on", _addon_attrs("Deployment", hook=False, eks_managed=True)),
    ]
    box = {"style": "rounded", "color": "#999999"}
    return _cluster("cluster_legend", box, _title("legend", "legend"), samples, columns=2)


def _node_statement(node: _Node, indent: str) -> str:
    return f"{indent}{dot_string(node.id)} [{_attrs({'label': node.label, **node.attrs})}];"


def _edge_statement(tail: str, head: str, attrs: Mapping[str, str], indent: str) -> str:
    return f"{indent}{dot_string(tail)} -> {dot_string(head)} [{_attrs(attrs)}];"


def _attrs(attrs: Mapping[str, str]) -> str:
    """``key="value", …`` in the order given, every value quoted and escaped."""
    return ", ".join(f"{key}={dot_string(value)}" for key, value in attrs.items())


def render_svg(dot_text: str, dot_binary: str | None = None) -> bytes:
    """``dot_text`` rendered to SVG by Graphviz's ``dot`` (``dot_binary``, else ``dot`` on PATH).

    Raises GraphvizMissing when there is no such program, GraphvizFailed with dot's own message when
    it refuses the graph or runs past ``RENDER_TIMEOUT_SECONDS``.
    """
    looked_for = dot_binary or "dot"
    binary = shutil.which(looked_for)
    if binary is None:
        raise GraphvizMissing(looked_for)
    try:
        result = subprocess.run(
            [binary, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=RENDER_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise GraphvizFailed(f"{binary} -Tsvg did not finish in {RENDER_TIMEOUT_SECONDS} s") from error
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace").strip()
        raise GraphvizFailed(f"{binary} -Tsvg failed with exit status {result.returncode}: {stderr}")
    return result.stdout
