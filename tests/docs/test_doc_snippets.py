"""Every Python block of README.md, docs/ and the user guide, checked as its directive says
(tests/docs/README.md): run, started as a plugin, run under pytest, covered by another test,
or type-checked with a reason. A block that cannot be checked fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.docs.checks import (
    MypyResult,
    check_covered,
    run_block,
    run_pytest,
    slug,
    start_plugin,
    typecheck,
)
from tests.docs.guide_map import GUIDE_MAP
from tests.docs.snippets import GUIDE, REPO, Snippet, all_snippets, collect

PAGES = list(all_snippets())


def guide_snippets() -> list[Snippet]:
    """The guide's blocks, each with its directive from GUIDE_MAP (found by a line only it has)."""
    blocks = collect(GUIDE)
    out = []
    for block in blocks:
        keys = [key for key in GUIDE_MAP if key in block.code]
        assert len(keys) == 1, f"{block.id}: matched by {keys or 'no entry'} of GUIDE_MAP"
        block.directive, block.explicit = GUIDE_MAP[keys[0]], True
        out.append(block)
    return out


GUIDE_BLOCKS = guide_snippets() if GUIDE.exists() else []
EVERY = PAGES + GUIDE_BLOCKS


def units(kind: str) -> list[list[Snippet]]:
    """The blocks of one kind, those of one ``group=`` together (they run as one program)."""
    grouped: dict[tuple[Path, str], list[Snippet]] = {}
    out: list[list[Snippet]] = []
    for snippet in EVERY:
        if snippet.directive.kind != kind:
            continue
        group = snippet.directive.options.get("group")
        if group is None:
            out.append([snippet])
        elif (snippet.path, group) in grouped:
            grouped[(snippet.path, group)].append(snippet)
        else:
            grouped[(snippet.path, group)] = [snippet]
            out.append(grouped[(snippet.path, group)])
    return out


def ids(unit: list[Snippet]) -> str:
    return unit[0].id + (f"+{len(unit) - 1}" if len(unit) > 1 else "")


def test_the_guide_is_there_and_every_map_entry_is_used() -> None:
    assert GUIDE.exists(), f"{GUIDE} is missing: the guide's blocks cannot be checked"
    used = {key for key in GUIDE_MAP for block in GUIDE_BLOCKS if key in block.code}
    assert used == set(GUIDE_MAP), f"entries that match no block: {set(GUIDE_MAP) - used}"


def test_every_block_has_a_way_to_be_checked() -> None:
    problems = [
        f"{s.id}: a pytest block needs plugin=<folder> (the plugin its tests start)"
        for s in EVERY
        if s.directive.kind == "pytest" and "plugin" not in s.directive.options
    ]
    assert not problems, "\n".join(problems)
    assert len(EVERY) > 100  # README, docs/ and the guide: a collection that found nothing fails


@pytest.mark.parametrize("unit", units("run"), ids=ids)
def test_run(unit: list[Snippet]) -> None:
    run_block(unit)


@pytest.mark.parametrize("unit", units("plugin"), ids=ids)
def test_plugin(unit: list[Snippet], tmp_path: Path) -> None:
    (snippet,) = unit
    start_plugin(snippet, tmp_path / "plugin", snippet.directive.check)


@pytest.mark.parametrize("unit", units("pytest"), ids=ids)
def test_pytest(unit: list[Snippet], tmp_path: Path) -> None:
    (snippet,) = unit
    plugin = snippet.directive.options["plugin"]
    if plugin.startswith("#"):  # a plugin block of the same page, by its id=
        (source,) = [
            s
            for s in EVERY
            if s.path == snippet.path and s.directive.options.get("id") == plugin[1:]
        ]
        from tests.docs.checks import plugin_folder

        folder = plugin_folder(source, tmp_path / "plugin")
    else:
        folder = REPO / plugin
    run_pytest(snippet, tmp_path / "project", folder)


@pytest.mark.parametrize("unit", units("covered"), ids=ids)
def test_covered(unit: list[Snippet]) -> None:
    (snippet,) = unit
    check_covered(snippet)


@pytest.fixture(scope="module")
def mypy_result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MypyResult]:
    fragments = [s for s in EVERY if s.directive.kind == "typecheck"]
    yield typecheck(fragments, tmp_path_factory.mktemp("fragments"))


@pytest.mark.parametrize("unit", units("typecheck"), ids=ids)
def test_typecheck(unit: list[Snippet], mypy_result: MypyResult) -> None:
    (snippet,) = unit
    errors = mypy_result.errors.get(f"{slug(snippet)}.py", [])
    assert not errors, f"{snippet.id} ({snippet.directive.reason}):\n" + "\n".join(errors)
