"""Security context fragments the add-ons' values share, so each setting means one thing everywhere.

They are Kubernetes' own fields (PodSecurityContext, SecurityContext), which the charts copy into their
pods as they are. Each add-on module says which it sets and why its chart and image allow it.
"""

from __future__ import annotations

from typing import Any, Final

UNPRIVILEGED_UID: Final = 65534
"""``nobody``: a UID no node account has. Images that default to 1000 would share it with AL2023's
``ec2-user`` on the host, should a process ever escape its container."""


def runtime_default_seccomp() -> dict[str, Any]:
    """The container runtime's default seccomp filter (containerd's), instead of no filter at all."""
    return {"seccompProfile": {"type": "RuntimeDefault"}}


def no_privileges() -> dict[str, Any]:
    """No capability and no way to gain one (no_new_privs): for processes that need nothing of the kernel."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def restricted_container(uid: int = UNPRIVILEGED_UID) -> dict[str, Any]:
    """All that the restricted Pod Security Standard asks of a container, and a read-only root filesystem:
    for a process that writes nothing outside its volumes."""
    return {
        **no_privileges(),
        **runtime_default_seccomp(),
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
    }


def restricted_pod() -> dict[str, Any]:
    """The pod-level half of the restricted standard, for charts whose containers already meet the rest."""
    return {"runAsNonRoot": True, **runtime_default_seccomp()}
