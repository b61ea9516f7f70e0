"""Loopback ports for the servers the tests start."""

from __future__ import annotations

from onething.devserver import free_port

__all__ = ["free_port"]
