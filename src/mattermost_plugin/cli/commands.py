"""Imports every command module so that each registers itself on ``cli.main``."""

from __future__ import annotations
