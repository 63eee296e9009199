"""plan --render on the real pinned charts: every example stack rendered from the chart archives, offline.

The archives live outside the repository (``../shared/chart-archives``, or ARMFUL_CHART_ARCHIVES_DIR);
where they are absent these tests skip and name the folder they looked for. Each stack is rendered once
per module (about 2 s each) and every test reads that one render.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import pytest
import yaml
from chart_archives import SDK_REASON, chart_archives
from conftest import PINNED_TODAY
from example_stacks import EXAMPLE_STACKS
from render_compare import compare

from armful.core import kubernetes_versions
from armful.core.findings import Finding, FindingLevel
from armful.planning.plan import Plan
from armful.planning.releases import render_placeholders
from armful.planning.stack_plan import plan_stack
from armful.render.command import RenderedRelease, render_plan
from armful.render.findings import TEST_HOOK_NOTE, judge_pod_template


@dataclass(frozen=True)
class RealRender:
    plan: Plan
    rendered: list[RenderedRelease]
    findings: list[Finding]
    notes: list[str]

    def release(self, name: str) -> RenderedRelease:
        return next(release for release in self.rendered if release.name == name)


@pytest.fixture(scope="module", params=EXAMPLE_STACKS)
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RealRender:
    pytest.importorskip("helm_python", reason=SDK_REASON)
    archives = chart_archives()
    # conftest's isolation is per test; this render outlives one, so it is isolated the same way here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        patch.setattr(kubernetes_versions, "today", lambda: PINNED_TODAY)
        plan = plan_stack(stack=request.param)
        rendered, findings, notes = render_plan(plan, charts_from=archives)
    return RealRender(plan, rendered, findings, notes)


def test_every_release_renders_with_no_error(real: RealRender) -> None:
    assert [release.name for release in real.rendered] == [r.spec.release for r in real.plan.releases]
    assert [f for f in real.findings if f.level is FindingLevel.ERROR] == []
    assert [note for note in real.notes if "could not" in note or "incomplete" in note] == []
    assert all(release.objects > 0 for release in real.rendered)


def test_the_plan_declares_every_pod_template_the_charts_render_with_its_images_and_pools(
    real: RealRender,
) -> None:
    """Which workloads exist, which images their pods pull (init containers and sidecars included) and
    where they land: the plan's view of each example stack is Helm's."""
    for rendered in real.rendered:
        seen = compare(real.plan, rendered.name, list(rendered.placements))
        assert seen.mismatches == [], rendered.name
        assert seen.undeclared == [], rendered.name


def test_cert_manager_renders_its_rbac_with_helms_document_separators(real: RealRender) -> None:
    from armful.render.helm import helm_sdk, parse_rendered

    release = next(r for r in real.plan.releases if r.spec.chart == "cert-manager")
    archive = chart_archives() / f"cert-manager-{release.spec.version}.tgz"
    with helm_sdk().Chart.load(archive) as chart:
        files = chart.render(
            render_placeholders(release.values),
            name=release.spec.release,
            namespace=release.spec.namespace,
            is_install=True,
        )
    rbac = files["cert-manager/templates/rbac.yaml"]
    # The trap is still in the chart: a separator glued to a comment, which YAML reads as a plain scalar.
    assert "\n---# Permission to approve CertificateRequests" in rbac
    with pytest.raises(yaml.YAMLError):
        list(yaml.safe_load_all(rbac))

    objects = [m.body for m in parse_rendered({"cert-manager/templates/rbac.yaml": rbac})]
    names = [body["metadata"]["name"] for body in objects]
    assert "cert-manager-controller-approve:cert-manager-io" in names
    assert all(body.get("kind") for body in objects)
    assert real.release("cert-manager").objects > len(objects)


def test_helm_test_pods_are_test_hooks_and_only_ever_warnings(real: RealRender) -> None:
    kyverno = real.release("kyverno")
    tests = [p.template for p in kyverno.placements if p.template.is_test_hook]
    assert len(tests) == kyverno.test_hooks == 5
    assert all(template.kind == "Pod" and template.hook == "test" for template in tests)
    # Armful's values place them; without those keys they are misplaced, and still only warnings.
    for template in tests:
        unplaced = {k: v for k, v in template.pod_spec.items() if k not in ("nodeSelector", "tolerations")}
        placement = judge_pod_template(
            "kyverno", replace(template, pod_spec=unplaced), real.plan.pools, topology=real.plan.topology
        )
        assert placement.findings, template.label
        for finding in placement.findings:
            assert finding.level is FindingLevel.WARNING
            assert finding.message.endswith(TEST_HOOK_NOTE)
            assert "hangs helm" not in finding.message


def test_the_archives_are_the_recorded_ones(real: RealRender) -> None:
    folder = chart_archives()
    lines = (folder / "SHA256SUMS").read_text().split("\n")
    recorded = {name: digest for digest, name in (line.split() for line in lines if line.strip())}
    for release in real.plan.releases:
        name = f"{release.spec.chart}-{release.spec.version}.tgz"
        assert name in recorded, name
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == recorded[name], name


def test_plan_render_charts_from_proves_the_stack_on_the_real_charts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``armful plan --render --charts-from DIR``: the whole stack, offline, exit 0 when proven."""
    pytest.importorskip("helm_python", reason=SDK_REASON)
    from armful.cli.main import main

    status = main(["plan", "--stack", "all-arm", "--render", "--charts-from", str(chart_archives())])
    out = capsys.readouterr().out
    assert status == 0, out[-2000:]
    assert "rendering incomplete" not in out and "could not" not in out
