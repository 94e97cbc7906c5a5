"""Output helpers for the people-facing `bytebot` commands (tables, durations)."""
