"""plan --render: the project's own charts rendered for real with Helm, and the pure extraction and judging.

The charts under charts/ reproduce the traps met in the field: a hook Job with tolerations of its own
(hooked), a DaemonSet with no tolerations key at all (agent), a subchart with keys of its own (parent).
Tests that render need helm-python-sdk and skip without it; the pure tests always run.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from armful.core.arch import Arch
from armful.core.findings import Finding, FindingLevel
from armful.core.pools import PoolPlan
from armful.placement.rules import node_agent_tolerations, system_node_selector, system_tolerations
from armful.planning.plan import Plan
from armful.planning.releases import ReleasePlan
from armful.planning.stack_plan import plan_stack
from armful.render.findings import TEST_HOOK_NOTE, canonical_image, judge_pod_template, render_findings
from armful.render.helm import RenderFailed, parse_rendered, split_manifests
from armful.render.pod_templates import PodTemplate, extract_pod_templates, subchart_path

CHARTS = Path(__file__).resolve().parent / "charts"
SDK_REASON = "rendering charts needs helm-python-sdk: pip install -r requirements-pins.txt"


@pytest.fixture
def helm() -> Any:
    return pytest.importorskip("helm_python", reason=SDK_REASON)


@functools.cache
def pools(stack: str) -> tuple[PoolPlan, ...]:
    return plan_stack(stack=stack).pools


def controller_values(stack: str) -> dict[str, Any]:
    """What Armful's rules put in a chart's keys for a controller: system selector and tolerations."""
    return {"nodeSelector": system_node_selector(), "tolerations": system_tolerations(pools(stack))}


def render(helm: Any, chart: str, values: dict[str, Any]) -> list[PodTemplate]:
    from armful.render.helm import render_manifests

    manifests = render_manifests(CHARTS / chart, values=values, release_name="demo", namespace="demo")
    return extract_pod_templates([m.body for m in manifests], [m.source for m in manifests])


def judge(templates: list[PodTemplate], stack: str, **kwargs: Any) -> list[Finding]:
    return render_findings(
        "demo", templates, pools(stack), topology=plan_stack(stack=stack).topology, **kwargs
    )


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# ------------------------------------------------------------------------------ rendered for real


@pytest.mark.parametrize("stack", ["arm-workers", "mixed"])
def test_charts_placed_through_every_key_have_no_findings(helm: Any, stack: str) -> None:
    controller = controller_values(stack)
    hooked = render(helm, "hooked", {**controller, "hook": {"tolerations": controller["tolerations"]}})
    parent = render(helm, "parent", {**controller, "child": controller})

    assert [t.label for t in hooked] == [
        "Deployment/demo-hooked",
        "Job/demo-hooked-migrate (helm.sh/hook: pre-install,pre-upgrade)",
    ]
    assert sorted(t.name for t in parent) == ["demo-api", "demo-worker"]
    assert judge(hooked + parent, stack) == []
    system = [pool.name for pool in pools(stack) if pool.role.value == "system"]
    for template in hooked + parent:
        placement = judge_pod_template("demo", template, pools(stack))
        assert list(placement.pools) == system


def test_hook_job_without_its_own_tolerations_key_is_stranded(helm: Any) -> None:
    # The Deployment's keys are set; the hook shares the nodeSelector but not the tolerations.
    templates = render(helm, "hooked", controller_values("arm-workers"))

    finding = only(judge(templates, "arm-workers"))
    assert finding.level is FindingLevel.ERROR
    assert finding.code == "stranded"
    assert "demo rendered Job/demo-hooked-migrate (helm.sh/hook: pre-install,pre-upgrade)" in finding.message
    assert "CriticalAddonsOnly=true:NoSchedule is not tolerated" in finding.message
    assert "hangs helm" in finding.message


def test_daemonset_without_a_tolerations_key_misses_every_tainted_pool(helm: Any) -> None:
    # Armful's node-agent tolerations are set, but the chart has nowhere to put them: Helm drops them.
    tolerations = node_agent_tolerations(pools("mixed"))
    templates = render(
        helm, "agent", {"tolerations": tolerations, "priorityClassName": "system-node-critical"}
    )

    (agent,) = templates
    assert agent.node_agent and "tolerations" not in agent.pod_spec
    finding = only(judge(templates, "mixed"))
    assert finding.code == "coverage-gap"
    assert "DaemonSet/demo-agent is a node agent but misses pools system, x86-legacy" in finding.message
    assert "kubernetes.io/arch=amd64:NoSchedule is not tolerated" in finding.message


def test_subchart_keys_missed_leave_the_subchart_workload_off_the_system_pool(helm: Any) -> None:
    templates = render(helm, "parent", controller_values("mixed"))

    finding = only(judge(templates, "mixed"))
    assert finding.code == "off-system"
    assert "Deployment/demo-worker from subchart child (values under child.*)" in finding.message
    assert "worker pools arm" in finding.message


def test_a_disabled_subchart_is_not_rendered(helm: Any) -> None:
    templates = render(helm, "parent", {**controller_values("mixed"), "child": {"enabled": False}})
    assert [t.name for t in templates] == ["demo-api"]


def test_an_image_without_the_system_arch_is_wrong_arch_for_the_hook(helm: Any) -> None:
    controller = controller_values("mixed")  # the mixed stack's system pool is Graviton
    templates = render(helm, "hooked", {**controller, "hook": {"tolerations": controller["tolerations"]}})

    finding = only(
        judge(templates, "mixed", image_arches={"registry.example.com/hooked/migrate:1.0": ["amd64"]})
    )
    assert finding.code == "wrong-arch"
    assert "Job/demo-hooked-migrate (helm.sh/hook: pre-install,pre-upgrade)" in finding.message
    assert "system: registry.example.com/hooked/migrate:1.0" in finding.message


def test_an_unplaced_helm_test_pod_is_only_a_warning(helm: Any) -> None:
    controller = controller_values("arm-workers")
    values = {**controller, "hook": {"tolerations": controller["tolerations"]}, "tests": {"enabled": True}}
    finding = only(judge(render(helm, "hooked", values), "arm-workers"))
    assert (finding.level, finding.code) == (FindingLevel.WARNING, "off-system")
    assert "Pod/demo-hooked-test (helm.sh/hook: test)" in finding.message
    assert finding.message.endswith(". " + TEST_HOOK_NOTE)


def test_a_value_the_schema_or_template_rejects_fails_the_render(helm: Any) -> None:
    from armful.render.helm import render_chart

    with pytest.raises(RenderFailed, match="does not render with the planned values"):
        render_chart(CHARTS / "hooked", values={"image": "not-a-map"})


# ------------------------------------------------------------------------------ pulling


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("scheme", ["http", "oci"])
def test_a_chart_that_cannot_be_pulled_says_so_plainly(helm: Any, scheme: str, tmp_path: Path) -> None:
    from armful.render.helm import ChartUnavailable, render_chart

    repository = f"{scheme}://127.0.0.1:{closed_port()}/charts"
    with pytest.raises(ChartUnavailable) as raised:
        render_chart("hooked", "0.1.0", repository, {}, cache_dir=tmp_path)
    message = str(raised.value)
    assert message.startswith(f"could not pull hooked 0.1.0 from {repository}: ")
    assert "connection refused" in message
    assert message.endswith("; rendering skipped")
    assert not any(tmp_path.iterdir())


def unreachable(plan: Plan) -> Plan:
    port = closed_port()

    def moved(release: ReleasePlan) -> ReleasePlan:
        scheme = "oci" if release.spec.repository.startswith("oci://") else "http"
        repository = f"{scheme}://127.0.0.1:{port}/{release.spec.chart}"
        return replace(release, spec=replace(release.spec, repository=repository))

    return replace(plan, releases=tuple(moved(release) for release in plan.releases))


def test_render_plan_offline_skips_every_chart_and_never_pretends(helm: Any, tmp_path: Path) -> None:
    from armful.render.command import render_plan, render_report

    plan = unreachable(plan_stack(stack="arm-workers"))
    rendered, findings, notes = render_plan(plan, cache_dir=tmp_path)

    assert rendered == [] and findings == []
    pulls = [note for note in notes if "could not pull" in note]
    assert len(pulls) == len(plan.releases)
    assert any(
        note.startswith("cert-manager: could not pull cert-manager v1.21.1 from oci://") for note in pulls
    )
    assert all(note.endswith("; rendering skipped") for note in pulls)
    assert (
        f"rendering incomplete: {len(plan.releases)} of {len(plan.releases)} charts were not rendered"
        in "\n".join(notes)
    )
    report = render_report(rendered, findings, notes)
    assert "nothing was rendered" in report


@dataclass
class ChartRepository:
    url: str
    server: http.server.ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chart_repository(helm: Any, tmp_path: Path) -> Iterator[ChartRepository]:
    """A real HTTP chart repository on 127.0.0.1 holding the test charts, as `helm repo index` builds it."""
    served = tmp_path / "repo"
    served.mkdir()
    for chart in ("hooked", "agent", "parent"):
        helm.package(CHARTS / chart, destination=served)
    helm.repo_index_generate(served)
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    repository = ChartRepository(f"http://127.0.0.1:{server.server_address[1]}", server)
    try:
        yield repository
    finally:
        with contextlib.suppress(OSError):
            repository.stop()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_render_plan_pulls_each_chart_from_its_repository_and_judges_what_it_renders(
    chart_repository: ChartRepository, tmp_path: Path
) -> None:
    from armful.render.command import render_json, render_plan, render_report

    plan = plan_stack(stack="mixed")
    controller = controller_values("mixed")
    template = plan.releases[0]

    def release(chart: str, values: dict[str, Any]) -> ReleasePlan:
        spec = replace(
            template.spec,
            release=chart,
            chart=chart,
            version="0.1.0",
            repository=chart_repository.url,
            workloads=(),
        )
        return ReleasePlan(spec, values)

    plan = replace(
        plan,
        releases=(
            release("hooked", {**controller, "hook": {"tolerations": controller["tolerations"]}}),
            release("parent", controller),  # child.* forgotten
        ),
    )
    cache = tmp_path / "cache"
    rendered, findings, notes = render_plan(plan, cache_dir=cache)

    assert [r.name for r in rendered] == ["hooked", "parent"]
    assert [r.hooks for r in rendered] == [1, 0]
    assert [f.code for f in findings] == ["off-system"]
    assert "parent rendered Deployment/parent-worker from subchart child" in findings[0].message
    assert notes == []
    assert sorted(p.name for p in cache.rglob("*.tgz")) == ["hooked-0.1.0.tgz", "parent-0.1.0.tgz"]
    report = render_report(rendered, findings, notes)
    assert (
        "Job/hooked-hooked-migrate (helm.sh/hook: pre-install,pre-upgrade) [controller] -> system" in report
    )
    assert "Deployment/parent-worker from subchart child (values under child.*) [controller] -> arm" in report
    assert render_json(rendered, findings, notes)["rendered"][1]["pod_templates"][0]["subchart"] == "child"

    # A pinned version never changes: once pulled, it renders with the repository gone.
    chart_repository.stop()
    assert [r.name for r in render_plan(plan, cache_dir=cache)[0]] == ["hooked", "parent"]
    rendered_uncached, _, notes_uncached = render_plan(plan, use_cache=False)
    assert rendered_uncached == []
    assert [n.split(":")[0] for n in notes_uncached] == ["hooked", "parent", "rendering incomplete"]


def test_render_plan_loads_each_chart_from_a_folder_of_archives_and_never_pulls(
    helm: Any, tmp_path: Path
) -> None:
    from armful.render.command import render_json, render_plan, render_report

    archives = tmp_path / "archives"
    archives.mkdir()
    for chart in ("hooked", "parent"):
        helm.package(CHARTS / chart, destination=archives)
    (archives / "parent-0.1.0.tgz").rename(archives / "parent-0.2.0.tgz")  # named for a version it is not
    controller = controller_values("mixed")
    plan = unreachable(plan_stack(stack="mixed"))  # any pull would fail: what renders came from the folder
    template = plan.releases[0]

    def release(chart: str, version: str, values: dict[str, Any]) -> ReleasePlan:
        spec = replace(template.spec, release=chart, chart=chart, version=version, workloads=())
        return ReleasePlan(spec, values)

    hooked = {**controller, "hook": {"tolerations": controller["tolerations"]}, "tests": {"enabled": True}}
    plan = replace(
        plan,
        releases=(
            release("hooked", "0.1.0", hooked),
            release("parent", "0.2.0", controller),
            release("agent", "0.1.0", {}),
        ),
    )
    rendered, findings, notes = render_plan(plan, charts_from=archives)

    assert [r.name for r in rendered] == ["hooked"]
    assert (rendered[0].hooks, rendered[0].test_hooks) == (2, 1)
    (finding,) = findings  # the helm test pod, unplaced: a warning that says when it runs
    assert (finding.level, finding.code) == (FindingLevel.WARNING, "off-system")
    assert finding.message.endswith(TEST_HOOK_NOTE)
    assert notes[:2] == [
        f"parent: could not load {archives / 'parent-0.2.0.tgz'} 0.2.0: it holds parent 0.1.0, not 0.2.0; "
        "rendering skipped",
        f"agent: could not load {archives / 'agent-0.1.0.tgz'} 0.1.0: no such file or directory; "
        "rendering skipped",
    ]
    assert notes[2].startswith("rendering incomplete: 2 of 3 charts were not rendered")
    report = render_report(rendered, findings, notes)
    assert "hooked (hooked 0.1.0): 3 objects, 3 pod templates (2 hooks, 1 of them helm test only)" in report
    assert "Pod/hooked-hooked-test (helm.sh/hook: test) [controller, helm test only] -> arm" in report
    pod_templates = render_json(rendered, findings, notes)["rendered"][0]["pod_templates"]
    assert [t["test_hook"] for t in pod_templates] == [False, False, True]


def test_without_the_sdk_render_plan_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from armful.render.command import render_plan
    from armful.render.helm import HelmSdkMissing

    monkeypatch.setitem(sys.modules, "helm_python", None)  # what an absent package looks like to import
    with pytest.raises(HelmSdkMissing) as raised:
        render_plan(plan_stack(stack="arm-workers"))
    assert str(raised.value) == SDK_REASON


# ------------------------------------------------------------------------------ pure: extraction


def pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}}


PROMETHEUS_OPERATOR = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "kps-operator"},
    "spec": pod(
        {
            "containers": [
                {
                    "name": "kube-prometheus-stack",
                    "image": "quay.io/prometheus-operator/prometheus-operator:v0.90.0",
                    "args": [
                        "--kubelet-service=kube-system/kps-kubelet",
                        "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.90.0",
                        "--alertmanager-default-base-image=quay.io/prometheus/alertmanager",
                    ],
                }
            ]
        }
    ),
}


def test_prometheus_and_alertmanager_resources_are_pod_templates() -> None:
    prometheus = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "kps-prometheus", "namespace": "monitoring"},
        "spec": {
            "image": "quay.io/prometheus/prometheus:v3.9.1",
            "version": "v3.9.1",
            "replicas": 2,
            "nodeSelector": {"node.armful.dev/role": "system"},
            "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
            "affinity": {"podAntiAffinity": {}},
            "containers": [{"name": "oauth-proxy", "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.8.0"}],
            "initContainers": [{"name": "init", "image": "registry.example.com/init:1"}],
        },
    }
    alertmanager = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Alertmanager",
        "metadata": {"name": "kps-alertmanager"},
        "spec": {
            "version": "v0.30.0",
            "containers": [
                {"name": "alertmanager", "image": "registry.example.com/mirror/alertmanager:v0.30.0"}
            ],
        },
    }
    templates = extract_pod_templates([PROMETHEUS_OPERATOR, prometheus, alertmanager])

    operator, prom, alert = templates
    assert (operator.kind, operator.node_agent) == ("Deployment", False)
    assert (prom.kind, prom.name, prom.namespace, prom.is_hook) == (
        "Prometheus",
        "kps-prometheus",
        "monitoring",
        False,
    )
    assert prom.pod_spec == {
        "containers": [
            {"name": "prometheus", "image": "quay.io/prometheus/prometheus:v3.9.1"},
            {
                "name": "config-reloader",
                "image": "quay.io/prometheus-operator/prometheus-config-reloader:v0.90.0",
            },
            {"name": "oauth-proxy", "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.8.0"},
        ],
        "initContainers": [{"name": "init", "image": "registry.example.com/init:1"}],
        "nodeSelector": {"node.armful.dev/role": "system"},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "affinity": {"podAntiAffinity": {}},
    }
    # No spec.image: the operator's default base image at spec.version, then patched by a same-name container.
    assert alert.pod_spec["containers"][0] == {
        "name": "alertmanager",
        "image": "registry.example.com/mirror/alertmanager:v0.30.0",
    }
    unpatched = extract_pod_templates(
        [PROMETHEUS_OPERATOR, {**alertmanager, "spec": {"version": "v0.30.0"}}]
    )[1]
    assert unpatched.pod_spec["containers"][0]["image"] == "quay.io/prometheus/alertmanager:v0.30.0"
    alone = extract_pod_templates([{**alertmanager, "spec": {}}])[0]
    assert alone.pod_spec == {
        "containers": [{"name": "alertmanager", "image": "quay.io/prometheus/alertmanager"}]
    }


def test_cronjob_pod_daemonset_and_hooks() -> None:
    job_pod = {
        "containers": [{"name": "c", "image": "registry.example.com/cron:1"}],
        "nodeSelector": {"a": "b"},
    }
    manifests = [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": pod(job_pod)}},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "probe", "annotations": {"helm.sh/hook": "test"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": pod({"containers": []}),
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "setup", "annotations": {"helm.sh/hook": "pre-install, post-upgrade"}},
            "spec": pod({"containers": []}),
        },
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": []}},
        {"apiVersion": "example.com/v1", "kind": "Prometheus", "metadata": {"name": "other"}, "spec": {}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "broken"}, "spec": {}},
    ]
    sources = [
        "c/templates/cron.yaml",
        "c/templates/tests/p.yaml",
        "c/charts/sub/charts/leaf/templates/ds.yaml",
    ]
    sources += ["c/templates/job.yaml", "c/templates/svc.yaml", "c/templates/x.yaml", "c/templates/y.yaml"]
    cron, test_pod, agent, setup = extract_pod_templates(manifests, sources)

    assert (cron.kind, cron.pod_spec, cron.node_agent) == ("CronJob", job_pod, False)
    assert (test_pod.hook, test_pod.is_test_hook, test_pod.pod_spec["containers"][0]["image"]) == (
        "test",
        True,
        "busybox",
    )
    assert (agent.node_agent, agent.subchart, agent.role) == (True, ("sub", "leaf"), "node agent")
    assert agent.label == "DaemonSet/agent from subchart sub.leaf (values under sub.leaf.*)"
    assert (setup.hook_events, setup.is_hook, setup.is_test_hook) == (
        ("pre-install", "post-upgrade"),
        True,
        False,
    )
    with pytest.raises(ValueError):
        extract_pod_templates(manifests, sources[:2])


def test_subchart_path_reads_only_the_charts_folders_of_the_chart_tree() -> None:
    assert subchart_path("p/templates/deployment.yaml") == ()
    assert subchart_path("p/templates/charts/x.yaml") == ()
    assert subchart_path("p/charts/grafana/templates/deployment.yaml") == ("grafana",)
    assert subchart_path(None) == ()


# ------------------------------------------------------------------------------ pure: documents


def test_documents_are_split_as_helm_splits_them() -> None:
    # Cases from Helm's own TestSplitManifests (pkg/release/v1/util/manifest_test.go), and cert-manager's.
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}"
    assert split_manifests("") == []
    assert split_manifests("  \n\n  \n") == []
    assert split_manifests("\n\n---\n" + cm.format("a") + "\n") == [cm.format("a") + "\n"]
    assert split_manifests(cm.format("a") + "\n---\n" + cm.format("b") + "\n") == [
        cm.format("a"),
        cm.format("b") + "\n",
    ]
    # A separator glued to what follows it still separates: `---apiVersion` and cert-manager's `---# ...`.
    glued = "\n---" + cm.format("a") + "\n---" + cm.format("b") + "\n\n---# Permission to:\n" + cm.format("c")
    assert split_manifests(glued) == [cm.format("a"), cm.format("b"), "# Permission to:\n" + cm.format("c")]
    # A block scalar's trailing lines before a separator go with it; `---` indented in a scalar stays.
    scalar = "data:\n  key: |+\n    ---\n    hello\n\n\n---\n" + cm.format("b")
    assert split_manifests(scalar) == ["data:\n  key: |+\n    ---\n    hello", cm.format("b")]


# Helm's own separator, regexp.MustCompile("(?:^|\\s*\n)---\\s*"), in Python's re with Go's ASCII \s.
HELMS_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="-\n \ta#:", max_size=60))
def test_documents_split_exactly_where_helms_regex_splits_them(text: str) -> None:
    """split_manifests finds separators without that regex (which rescans indentation); same pieces."""
    expected = [piece.lstrip() for piece in HELMS_SEPARATOR.split(text.lstrip()) if piece]
    assert split_manifests(text) == expected


def test_a_separator_glued_to_a_comment_parses_and_a_broken_document_is_named() -> None:
    rbac = (
        "kind: Role\nmetadata:\n  name: a\n\n---# Permission to approve\nkind: Role\nmetadata:\n  name: b\n"
    )
    with pytest.raises(yaml.YAMLError):
        list(yaml.safe_load_all(rbac))  # what a YAML stream parser makes of it
    parsed = parse_rendered({"c/templates/rbac.yaml": rbac, "c/templates/NOTES.txt": "not: [yaml"})
    assert [(m.source, m.body["metadata"]["name"]) for m in parsed] == [
        ("c/templates/rbac.yaml", "a"),
        ("c/templates/rbac.yaml", "b"),
    ]
    with pytest.raises(RenderFailed) as raised:
        parse_rendered({"c/templates/cm.yaml": "kind: A\n---\nkind: [B\n"})
    assert str(raised.value).startswith(
        "c does not render with the planned values: YAML parse error on c/templates/cm.yaml (document 2): "
    )


def test_crds_are_counted_without_being_built_and_nothing_else_is_skipped() -> None:
    from armful.render.helm import crd_documents, is_crd_document

    crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.b.io\n"
    files = {
        "c/templates/crds.yaml": crd
        + "---\n"
        + crd.replace("kind: CustomResourceDefinition", 'kind: "CustomResourceDefinition"'),
        "c/templates/job.yaml": "kind: Job\nmetadata:\n  name: j\nspec:\n  x: |\n    kind: CustomResourceDefinition\n",
        # Two top-level kinds (the last wins in YAML): not told apart by a line, so parsed.
        "c/templates/twice.yaml": "kind: CustomResourceDefinition\nmetadata:\n  name: t\nkind: Pod\n",
        "c/templates/list.yaml": "kind: List\nitems:\n- " + crd.replace("\n", "\n  ").rstrip() + "\n",
    }
    assert [is_crd_document(crd), is_crd_document("kind: CustomResourceDefinitions\n")] == [True, False]
    every = parse_rendered(files)
    judged = parse_rendered(files, skip_crds=True)
    assert crd_documents(files) == 2
    assert len(judged) + crd_documents(files) == len(every)
    assert sorted(m.body["kind"] for m in judged) == ["CustomResourceDefinition", "Job", "Pod"]


def test_manifests_are_parsed_by_libyaml_where_pyyaml_has_it() -> None:
    from armful.render import helm as helm_module

    assert helm_module._YAML_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


# ------------------------------------------------------------------------------ pure: judging


def test_helm_test_hooks_are_read_as_helm_reads_them_and_are_never_errors() -> None:
    assert PodTemplate("Pod", "t", {}, hook=" Test ,test-success").is_test_hook
    assert not PodTemplate("Pod", "t", {}, hook="test,pre-install").is_test_hook  # also runs on install
    odd = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Near"}]}]
            }
        }
    }
    for hook, level in (("test", FindingLevel.WARNING), ("pre-install", FindingLevel.ERROR)):
        template = PodTemplate("Pod", "probe", {"containers": [], "affinity": odd}, hook=hook)
        finding = only(judge([template], "all-arm"))
        assert (finding.code, finding.level) == ("stranded", level)
        assert finding.message.endswith(TEST_HOOK_NOTE) is (hook == "test")


def test_a_prometheus_resource_without_a_toleration_is_stranded() -> None:
    prometheus = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "kps-prometheus"},
        "spec": {"image": "quay.io/prometheus/prometheus:v3.9.1", "nodeSelector": system_node_selector()},
    }
    finding = only(judge(extract_pod_templates([prometheus]), "arm-workers"))
    assert finding.code == "stranded"
    assert finding.message.startswith(
        "demo rendered Prometheus/kps-prometheus can run on no pool of topology arm-workers"
    )


def test_image_arches_are_matched_across_spellings() -> None:
    assert canonical_image("docker.io/library/busybox:1.37") == "busybox:1.37"
    assert canonical_image("busybox") == "busybox:latest"
    assert canonical_image("quay.io/x/y:1@sha256:abc") == "quay.io/x/y:1"
    agent = PodTemplate(
        "DaemonSet",
        "agent",
        {
            "containers": [{"name": "a", "image": "docker.io/library/busybox:1.37"}],
            "tolerations": [{"operator": "Exists"}],
        },
        node_agent=True,
    )
    finding = only(judge([agent], "mixed", image_arches={"busybox:1.37": [Arch.AMD64]}))
    assert finding.code == "wrong-arch"
    assert "system: docker.io/library/busybox:1.37; arm: docker.io/library/busybox:1.37" in finding.message


def test_an_invalid_operator_is_a_finding_not_a_crash() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Near"}]}]
            }
        }
    }
    template = PodTemplate("Deployment", "odd", {"containers": [], "affinity": affinity})
    finding = only(judge([template], "all-arm"))
    assert finding.code == "stranded" and "unknown node selector operator 'Near'" in finding.message
