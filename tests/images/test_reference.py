"""Image references resolve to the registry and repository ``docker pull`` would use."""

from __future__ import annotations

import pytest

from armful.images.reference import InvalidReferenceError, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "domain", "repository", "tag", "digest"),
    [
        ("nginx", "registry-1.docker.io", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.27", "registry-1.docker.io", "docker.io", "library/nginx", "1.27", None),
        ("docker.io/nginx", "registry-1.docker.io", "docker.io", "library/nginx", "latest", None),
        ("index.docker.io/library/nginx:1", "registry-1.docker.io", "docker.io", "library/nginx", "1", None),
        ("bitnami/redis:7", "registry-1.docker.io", "docker.io", "bitnami/redis", "7", None),
        ("falcosecurity/falco", "registry-1.docker.io", "docker.io", "falcosecurity/falco", "latest", None),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000", "127.0.0.1:5000", "app", "v1", None),
        ("localhost/app", "localhost", "localhost", "app", "latest", None),
        ("localhost:5000/team/app", "localhost:5000", "localhost:5000", "team/app", "latest", None),
        ("[::1]:5000/app:v2", "[::1]:5000", "[::1]:5000", "app", "v2", None),
        (f"127.0.0.1:5000/app@{DIGEST}", "127.0.0.1:5000", "127.0.0.1:5000", "app", None, DIGEST),
        (f"nginx:1.27@{DIGEST}", "registry-1.docker.io", "docker.io", "library/nginx", "1.27", DIGEST),
        (
            "registry.k8s.io/ingress-nginx/controller:v1.12.0",
            "registry.k8s.io",
            "registry.k8s.io",
            "ingress-nginx/controller",
            "v1.12.0",
            None,
        ),
        (
            "quay.io/jetstack/cert-manager-controller:v1.21.1",
            "quay.io",
            "quay.io",
            "jetstack/cert-manager-controller",
            "v1.21.1",
            None,
        ),
        ("ghcr.io/kyverno/kyverno:v1.16.0", "ghcr.io", "ghcr.io", "kyverno/kyverno", "v1.16.0", None),
        (
            "public.ecr.aws/eks/aws-load-balancer-controller:v2.11.0",
            "public.ecr.aws",
            "public.ecr.aws",
            "eks/aws-load-balancer-controller",
            "v2.11.0",
            None,
        ),
        (
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.0",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com",
            "amazon-k8s-cni",
            "v1.19.0",
            None,
        ),
    ],
)
def test_parse(
    text: str, registry: str, domain: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.domain, ref.repository, ref.tag, ref.digest) == (
        registry,
        domain,
        repository,
        tag,
        digest,
    )
    assert ref.original == text
    assert ref.reference == (digest or tag)


def test_canonical_form_names_docker_hub_in_full() -> None:
    assert str(parse_reference("nginx")) == "docker.io/library/nginx:latest"
    assert str(parse_reference(f"nginx:1@{DIGEST}")) == f"docker.io/library/nginx:1@{DIGEST}"


def test_ecr_private_registry_is_recognised() -> None:
    ref = parse_reference("123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/app:1")
    assert ref.is_ecr_private and ref.ecr_region == "eu-central-1"
    assert not parse_reference("public.ecr.aws/eks/coredns").is_ecr_private


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Nginx", "lowercase"),
        ("docker.io/Library/nginx", "lowercase"),
        ("nginx:", "invalid tag"),
        ("nginx:-bad", "invalid tag"),
        ("nginx@sha256:1234", "invalid digest"),
        ("nginx@sha256:" + "AB" * 32, "lowercase hex"),
        ("my image", "whitespace"),
        ("registry.example.com/", "invalid repository"),
        ("a/b//c", "invalid repository"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=message):
        parse_reference(text)
