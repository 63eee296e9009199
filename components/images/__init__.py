"""Arm readiness of images: which platforms each image reference is published for.

The registry is asked directly over the OCI distribution API (no Docker daemon, no ``crane``), so the
check runs wherever Armful runs: a laptop, CI, or inside a Pulumi preview. Results are cached on disk
because registries rate-limit anonymous pulls (Docker Hub) and a stack names dozens of images.
"""
