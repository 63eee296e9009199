"""Placement proofs: a pure model of where the Kubernetes scheduler can put each pod template."""
