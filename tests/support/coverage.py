"""Marks that say which Plugin API methods a test covers, and how (tests/fake).

``@ok("GetUser", ...)``: the test calls each method and it succeeds; ``@fails(...)``: the
test calls each and it fails (an AppError or a gRPC error status), or, for a method that
never fails (``Modelled.never_fails``), gets the negative answer. The fixtures of
tests/fake check after the test that such calls happened; ``codegen.local_host_methods``
reads the marks to write docs/local-host-methods.md and count the modelled methods.
"""

from __future__ import annotations

import pytest


def ok(*methods: str) -> pytest.MarkDecorator:
    return pytest.mark.api_method(*methods, outcome="success")


def fails(*methods: str) -> pytest.MarkDecorator:
    return pytest.mark.api_method(*methods, outcome="error")
