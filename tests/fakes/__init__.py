"""Fakes of outside systems for tests (no network beyond 127.0.0.1)."""
