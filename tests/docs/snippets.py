"""The Python blocks of the documentation and how each one is checked.

Every fenced ``python`` block of README.md and docs/ (generated pages included) is a
:class:`Snippet`. What to do with it is said next to it, in an HTML comment just before the
fence, which readers of the rendered page never see (tests/docs/README.md has the syntax)::

    <!-- snippet: run setup=mattermost -->
    <!-- snippet: typecheck reason="a handler's body: self and user_id come from around it"
    from mattermost_plugin import Plugin

    class Example(Plugin):
        def handler(self, user_id: str) -> None:
            {snippet}
    -->

A block without a directive is inferred: a plugin file (``run_plugin`` under
``if __name__ == "__main__"``) is started as a plugin, a block of ``test_`` functions needs a
``pytest`` directive naming its plugin, anything else runs as it is.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO.parent / "shared" / "guide" / "python-plugins.md"

KINDS = ("run", "plugin", "pytest", "typecheck", "covered")
# Kinds a block may only have with a reason: it is not run as a whole here.
NEEDS_REASON = ("typecheck", "covered")
PLACEHOLDER = "{snippet}"
DIRECTIVE = re.compile(r"<!--\s*(snippet|snippets|snippet-setup):(.*?)-->", re.DOTALL)


class DirectiveError(ValueError):
    """A directive that cannot be used, with where it is."""


@dataclass(frozen=True)
class Directive:
    """How to check a block: the kind, its options, a body (a template with ``{snippet}``)
    and, for ``plugin`` blocks, a check that runs against the started plugin."""

    kind: str
    options: dict[str, str] = field(default_factory=dict)
    body: str = ""
    check: str = ""  # plugin blocks: code run against the started plugin (``mattermost``)

    @property
    def reason(self) -> str:
        return self.options.get("reason", "")

    def wrap(self, code: str) -> str:
        """The block inside the template (each of its lines indented like the placeholder)."""
        if PLACEHOLDER not in self.body:
            return f"{self.body}\n{code}" if self.body.strip() else code
        out: list[str] = []
        for line in self.body.splitlines():
            if line.strip() == PLACEHOLDER:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + c if c.strip() else "" for c in code.splitlines()]
            else:
                out.append(line)
        return "\n".join(out) + "\n"


@dataclass
class Snippet:
    path: Path  # the Markdown file
    line: int  # 1-based line of the opening fence
    code: str
    directive: Directive
    explicit: bool  # said next to the block (or for its file), not inferred

    @property
    def id(self) -> str:
        return f"{display(self.path)}:{self.line}"


def display(path: Path) -> str:
    """A short name for a Markdown file: relative to the repository, or the guide's name."""
    if path == GUIDE:
        return "guide/python-plugins.md"
    return path.relative_to(REPO).as_posix()


def parse_directive(text: str, where: str) -> tuple[str, Directive | str]:
    """``<!-- snippet: KIND key=value … \\n body -->`` → (``snippet``, Directive);
    ``snippet-setup: NAME`` → (``snippet-setup``, (name, body) as a Directive of kind NAME)."""
    match = DIRECTIVE.fullmatch(text.strip())
    if match is None:
        raise DirectiveError(f"{where}: not a directive: {text.strip()[:60]!r}")
    tag, rest = match[1], match[2]
    head, _, body = rest.partition("\n")
    body = textwrap.dedent(body).strip("\n")
    try:
        words = shlex.split(head)
    except ValueError as error:
        raise DirectiveError(f"{where}: {error}") from None
    if not words:
        raise DirectiveError(f"{where}: {tag}: says nothing")
    if tag == "snippet-setup":
        if len(words) != 1:
            raise DirectiveError(f"{where}: snippet-setup takes one name, got {words}")
        return tag, Directive(words[0], {}, body)
    kind, options = words[0], {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq:
            raise DirectiveError(f"{where}: option {word!r} is not key=value")
        options[key] = value
    if kind not in KINDS:
        raise DirectiveError(f"{where}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if kind in NEEDS_REASON and not options.get("reason"):
        raise DirectiveError(f'{where}: a {kind} block needs reason="why it is not run"')
    if kind == "covered" and not options.get("by"):
        raise DirectiveError(f"{where}: a covered block needs by=<test file>")
    return tag, Directive(kind, options, body)


def infer(code: str) -> Directive:
    """The kind of a block without a directive."""
    if "run_plugin(" in code and re.search(r"^if __name__ == .__main__.:", code, re.M):
        return Directive("plugin")
    if re.search(r"^(async )?def test_", code, re.M):
        return Directive("pytest")
    return Directive("run")


def _with_setup(directive: Directive, setups: dict[str, str], where: str) -> Directive:
    """Resolve ``setup=NAME`` (the template) and ``check=NAME`` from the page's setups."""
    found: dict[str, str] = {}
    for option in ("setup", "check"):
        name = directive.options.get(option)
        if name is None:
            continue
        if name not in setups:
            raise DirectiveError(f"{where}: {option}={name} is not declared above it")
        found[option] = setups[name]
    if "setup" in found and directive.body:
        raise DirectiveError(f"{where}: give a setup= or a body, not both")
    body = found.get("setup", directive.body)
    return Directive(directive.kind, directive.options, body, found.get("check", ""))


def collect(path: Path) -> list[Snippet]:
    """The python blocks of one Markdown file, each with its directive."""
    text = path.read_text()
    tokens = MarkdownIt("commonmark").parse(text)
    setups: dict[str, str] = {}
    file_directive: Directive | None = None
    pending: tuple[Directive, int] | None = None  # the last block directive, and its end
    snippets: list[Snippet] = []
    for token in tokens:
        if token.map is None:
            continue
        start, end = token.map
        where = f"{display(path)}:{start + 1}"
        if token.type == "html_block" and DIRECTIVE.match(token.content.strip()):
            tag, directive = parse_directive(token.content, where)
            assert isinstance(directive, Directive)
            if tag == "snippet-setup":
                setups[directive.kind] = directive.body
            elif tag == "snippets":
                if file_directive is not None:
                    raise DirectiveError(f"{where}: a second file-level directive")
                file_directive = directive
            else:
                pending = (_with_setup(directive, setups, where), end)
            continue
        if token.type != "fence":
            continue
        before, pending = pending, None
        if token.info.split()[:1] != ["python"]:
            continue
        explicit = True
        if before is not None and _only_blank_between(text, before[1], start):
            directive = before[0]
        elif file_directive is not None:
            directive = _with_setup(file_directive, setups, where)
        else:
            directive, explicit = infer(token.content), False
        snippets.append(Snippet(path, start + 1, token.content, directive, explicit))
    return snippets


def _only_blank_between(text: str, first: int, last: int) -> bool:
    return all(not line.strip() for line in text.splitlines()[first:last])


def documentation_files() -> list[Path]:
    """README.md and every page of docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def all_snippets(files: Iterable[Path] | None = None) -> Iterator[Snippet]:
    for path in documentation_files() if files is None else files:
        yield from collect(path)
