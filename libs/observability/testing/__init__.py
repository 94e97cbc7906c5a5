"""Shipped test helpers: the conformance service (all four RPC kinds, sync and aio)."""
