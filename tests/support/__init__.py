"""Helpers shared by several test packages (e.g. the real stack for tests/e2e and tests/deploy)."""
