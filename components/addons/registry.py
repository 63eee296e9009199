"""Every add-on Armful offers, in install order of the table in design §3."""

from __future__ import annotations

from components.addons import metrics_server
from components.addons.spec import AddonSpec

ADDONS: tuple[AddonSpec, ...] = (metrics_server.SPEC,)

BY_RELEASE: dict[str, AddonSpec] = {spec.release: spec for spec in ADDONS}
