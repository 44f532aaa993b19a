"""Developer tasks. `nox -s ci` is what CI runs: codegen_check, lint, typecheck, tests and docs."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["ci"]
nox.options.reuse_existing_virtualenvs = True

DEV = ".[dev]"
CODE = ["src", "codegen", "tests", "bench", "examples", "docs/_ext", "noxfile.py"]
SITE = "site"
# Each example is a plugin project of its own, type-checked with its own settings.
EXAMPLES = sorted(path.parent for path in Path("examples").glob("*/pyproject.toml"))
# MkDocs prints a banner about its 2.0 on every build; the pinned 1.6 toolchain is what we use.
MKDOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}


def _install(session: nox.Session, extra: str = DEV) -> None:
    session.install("-e", extra)


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate stubs, models, converters, clients and the hook table from proto/."""
    _install(session, ".[codegen]")
    session.run("python", "-m", "codegen")


@nox.session
def codegen_check(session: nox.Session) -> None:
    """Fail when the committed generated code differs from a fresh generation."""
    _install(session, ".[codegen]")
    session.run("python", "-m", "codegen", "--check")


@nox.session
def local_host_docs(session: nox.Session) -> None:
    """Regenerate docs/local-host-methods.md from the fake server's registry and tests/fake."""
    _install(session)
    session.run("python", "-m", "codegen.local_host_methods", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, generated code included."""
    _install(session)
    session.run("ruff", "check", *CODE)
    session.run("ruff", "format", "--check", *CODE)


def _mypy(session: nox.Session) -> None:
    session.run("mypy")
    # One example at a time: every example's plugin module is `plugin` (server/plugin.py,
    # as `mattermost-plugin new` makes it). A shared cache keeps the SDK checked once.
    cache = str(Path(".mypy_cache", "examples").resolve())
    for example in EXAMPLES:
        with session.chdir(example):
            session.run("mypy", "--cache-dir", cache)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package (generated code included), codegen and the examples."""
    _install(session)
    _mypy(session)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (HYPOTHESIS_PROFILE=dev by default: fast property tests)."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session
def ci(session: nox.Session) -> None:
    """Everything CI checks, in one environment, with the thorough hypothesis profile."""
    _install(session)
    session.run("python", "-m", "codegen", "--check")
    session.run("python", "-m", "codegen.local_host_methods", "--check")
    session.run("ruff", "check", *CODE)
    session.run("ruff", "format", "--check", *CODE)
    _mypy(session)
    session.run("pytest", *session.posargs, env={"HYPOTHESIS_PROFILE": "ci"})
    session.run("mkdocs", "build", "--strict", "--site-dir", SITE, env=MKDOCS_ENV)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/, warnings as errors (broken links, missing
    references). `nox -s docs -- serve` serves it on http://127.0.0.1:8000 and rebuilds on save."""
    _install(session, ".[docs]")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "--strict", *session.posargs[1:], env=MKDOCS_ENV)
    else:
        session.run(
            "mkdocs", "build", "--strict", "--site-dir", SITE, *session.posargs, env=MKDOCS_ENV
        )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: the SDK against a raw-grpcio baseline in the same run (bench/results.json)."""
    _install(session)
    session.run("python", "-m", "bench.run", *session.posargs)
