"""Fake outside services for tests and local runs (stdlib servers on 127.0.0.1)."""
