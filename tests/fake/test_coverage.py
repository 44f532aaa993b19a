"""The local host's method coverage is machine-checked: every method the fake models has a
test of its success and of its error path, there are at least 170 of them, and
docs/local-host-methods.md says so (it is generated from the registry and these tests)."""

from __future__ import annotations

from codegen import local_host_methods
from mattermost_plugin._generated.unserved import UNSERVED_METHODS
from mattermost_plugin.host.fake_server import MODELLED


def test_every_modelled_method_has_a_success_and_an_error_test() -> None:
    coverage = local_host_methods.scan_tests()
    lacking = {
        name: ("success" if not coverage.get(name, local_host_methods.Coverage()).success else "")
        + (" error" if not coverage.get(name, local_host_methods.Coverage()).error else "")
        for name in MODELLED
        if name not in local_host_methods.counted(coverage)
    }
    assert lacking == {}


def test_marks_name_real_modelled_methods() -> None:
    unknown = set(local_host_methods.scan_tests()) - set(MODELLED)
    assert unknown == set()


def test_at_least_170_methods_are_modelled() -> None:
    counted = local_host_methods.counted(local_host_methods.scan_tests())
    assert len(counted) >= local_host_methods.MINIMUM == 170
    assert not set(MODELLED) & UNSERVED_METHODS


def test_the_methods_table_is_current() -> None:
    assert local_host_methods.DOC.read_text() == local_host_methods.render(), (
        "docs/local-host-methods.md is stale: run `python -m codegen.local_host_methods`"
    )


def test_every_modelled_method_says_what_it_does() -> None:
    # The table's "what the local host does" is the handler's docstring.
    assert [name for name, method in MODELLED.items() if not method.summary] == []
