"""Every add-on Armful offers, in the order of the table in design §3."""

from __future__ import annotations

from armful.addons import (
    aws_load_balancer_controller,
    cert_manager,
    falco,
    fluent_bit,
    karpenter,
    kube_prometheus_stack,
    kyverno,
    kyverno_policies,
    metrics_server,
    opentelemetry_collector,
)
from armful.addons.context import DeployTime
from armful.addons.spec import AddonSpec

ADDONS: tuple[AddonSpec, ...] = (
    aws_load_balancer_controller.SPEC,
    falco.SPEC,
    kyverno.SPEC,
    kyverno_policies.SPEC,
    cert_manager.SPEC,
    kube_prometheus_stack.SPEC,
    fluent_bit.SPEC,
    opentelemetry_collector.SPEC,
    metrics_server.SPEC,
    karpenter.SPEC,
)

BY_RELEASE: dict[str, AddonSpec] = {spec.release: spec for spec in ADDONS}

SECRETS: tuple[DeployTime, ...] = tuple(secret for spec in ADDONS for secret in spec.secrets)
"""Every secret an add-on needs: the Pulumi layer reads each with ``require_secret``."""
SECRET_CONFIG_KEYS: dict[str, str] = {
    secret.name: secret.secret_config_key for secret in SECRETS if secret.secret_config_key
}
"""The plan's name for each secret → its key under ``armful:``."""
