"""Tests of armful.images: a package, so its conftest does not shadow tests/conftest.py."""
