"""``python -m codegen [--check]``: regenerate, or verify that the committed output is current."""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codegen import clients, completeness, converters, hook_methods, hooks, ir, models, reference
from codegen.protoc import REPO, run_protoc

SRC = REPO / "src"
# Folders that codegen owns entirely: they are replaced as a whole, so nothing stale survives.
MODELS_DIR = "mattermost_plugin/models"
GENERATED_DIRS = ("mattermost_plugin/_pb", MODELS_DIR, "mattermost_plugin/_generated")
# Generated documents: where codegen writes them (under its output folder) → where they live.
GENERATED_DOCS = {
    clients.LISTING: REPO / "docs" / "api-signatures.md",
    reference.HOOKS_PAGE: REPO / "docs" / "reference" / "hooks.md",
}
# Generated folders of documents, owned entirely by codegen like GENERATED_DIRS.
GENERATED_DOC_DIRS = {reference.MODELS_PAGES: REPO / "docs" / "reference" / "models"}


def generate(out: Path) -> None:
    proto = ir.build(run_protoc(out))
    completeness.check(proto)
    models.generate(proto, out)
    converters.generate(proto, out)
    clients.generate(proto, out)
    hooks.generate(proto, out)
    hook_methods.generate(proto, out)
    reference.generate(proto, out)
    _format(out)


def _format(out: Path) -> None:
    """Format with ruff so the committed files are lint-clean and diffs stay readable."""
    targets = [str(out / d) for d in GENERATED_DIRS if (out / d).exists()]
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(REPO / "pyproject.toml")]
    # Only safe fixes: import order everywhere; unused imports only in models (protoc's
    # imports register dependencies and must stay).
    fixes = [(["--select", "F401"], [str(out / MODELS_DIR)]), (["--select", "I"], targets)]
    for select, paths in fixes:
        fix = [*ruff, "check", "--fix-only", "--quiet", *config, *select, *paths]
        subprocess.run(fix, check=True)
    subprocess.run([*ruff, "format", "--quiet", *config, *targets], check=True)


def _tree(root: Path) -> set[str]:
    """The files under ``root``, without bytecode caches (running the tests leaves them)."""
    if not root.exists():
        return set()
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def stale_files(fresh: Path) -> list[str]:
    """Paths (relative to the repository) whose committed content differs from a fresh
    generation."""
    stale: list[str] = []
    for d in GENERATED_DIRS:
        committed, generated = SRC / d, fresh / d
        for rel in sorted(_tree(committed) | _tree(generated)):
            a, b = committed / rel, generated / rel
            if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                stale.append(f"src/{d}/{rel}")
    for source, doc in GENERATED_DOCS.items():
        if not (doc.exists() and filecmp.cmp(doc, fresh / source, shallow=False)):
            stale.append(str(doc.relative_to(REPO)))
    for source, folder in GENERATED_DOC_DIRS.items():
        for rel in sorted(_tree(folder) | _tree(fresh / source)):
            a, b = folder / rel, fresh / source / rel
            if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                stale.append(str(a.relative_to(REPO)))
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed output is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mm-codegen-") as tmp:
        fresh = Path(tmp)
        generate(fresh)
        if args.check:
            stale = stale_files(fresh)
            if stale:
                listing = "\n".join(f"  {p}" for p in stale)
                print(
                    f"codegen: {len(stale)} generated file(s) are stale or missing:\n{listing}\n"
                    "Run `nox -s codegen` and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print("codegen: generated code is up to date")
            return 0
        for d in GENERATED_DIRS:
            shutil.rmtree(SRC / d, ignore_errors=True)
            shutil.copytree(fresh / d, SRC / d)
        for source, doc in GENERATED_DOCS.items():
            doc.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh / source, doc)
        for source, folder in GENERATED_DOC_DIRS.items():
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(fresh / source, folder)
        written = [f"src/{d}" for d in GENERATED_DIRS]
        written += [
            str(p.relative_to(REPO))
            for p in [*GENERATED_DOCS.values(), *GENERATED_DOC_DIRS.values()]
        ]
        print(f"codegen: wrote {', '.join(written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
