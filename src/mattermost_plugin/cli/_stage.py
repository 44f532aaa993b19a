"""What ``bundle`` copies from the plugin folder into the archive's staging folder.

The manifest, the folders of the server executables, ``assets/``, ``public/``, the webapp
bundle's folder and ``--include`` paths, without caches, VCS data, local environments and
build output. Every path stays inside the plugin folder: an ``--include`` outside it is an
error, and so is a symlink that leads outside it, unless ``follow_external_symlinks``
asks to pack what it points to. Symlinks inside the plugin are packed as what they point
to (Mattermost unpacks regular files and folders only).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mattermost_plugin.cli._common import CommandError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mattermost_plugin.manifest import Manifest

__all__ = ["EXCLUDED_NAMES", "EXCLUDED_SUFFIXES", "outside_links", "stage_sources"]

# Never packed: caches, VCS data, local environments, build output.
EXCLUDED_NAMES = {
    "__pycache__",
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".DS_Store",
    ".mattermost-venv.lock",
    ".mattermost-dev",  # the dev server's state (mattermost-plugin dev)
}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def _excluded(path: Path) -> bool:
    return path.name in EXCLUDED_NAMES or path.name.endswith(EXCLUDED_SUFFIXES)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _lexically_inside(relative: str) -> bool:
    """Whether a path given relative to the plugin folder stays in it, before symlinks."""
    normal = os.path.normpath(relative.replace("\\", "/"))
    return not os.path.isabs(normal) and normal != ".." and not normal.startswith("../")


@dataclass
class _Copy:
    root: Path
    follow_external: bool
    outside: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    visiting: set[Path] = field(default_factory=set)

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def copy(self, path: Path, dest: Path | None) -> None:
        """Copy ``path`` (lexically inside the root) to ``dest``; ``dest=None`` only checks."""
        if path.is_symlink():
            target = path.resolve()
            if not target.exists():
                self.broken.append(f"{self.name(path)} -> {os.readlink(path)}")
                return
            if not _inside(target, self.root) and not self.follow_external:
                self.outside.append(f"{self.name(path)} -> {target}")
                return
        if path.is_dir():
            real = path.resolve()
            if real in self.visiting:
                raise CommandError(
                    f"{self.name(path)} is a symlink to a folder that contains it (a loop)",
                    "remove the symlink, or exclude its folder",
                )
            self.visiting.add(real)
            for child in sorted(path.iterdir()):
                if not _excluded(child):
                    self.copy(child, None if dest is None else dest / child.name)
            self.visiting.discard(real)
        elif path.is_file() and dest is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)  # a symlink's target, as a regular file


def _tops(
    plugin_dir: Path, manifest: Manifest, manifest_name: str, include: Sequence[str]
) -> list[str]:
    from mattermost_plugin.cli.validate import executables_of

    tops = {manifest_name}
    for executable in executables_of(manifest):
        tops.add(PurePosixPath(executable.replace("\\", "/")).parts[0])
    for extra in ("assets", "public"):
        if (plugin_dir / extra).is_dir():
            tops.add(extra)
    if manifest.webapp is not None:
        bundle_file = plugin_dir / manifest.webapp.bundle_path
        if not bundle_file.is_file():
            raise CommandError(
                f"{manifest_name}: webapp.bundle_path: {manifest.webapp.bundle_path} does not "
                "exist",
                "build the webapp first (or remove the webapp part)",
            )
        tops.add(str(PurePosixPath(manifest.webapp.bundle_path).parent))
    for extra in include:
        if not _lexically_inside(extra):
            raise CommandError(
                f"--include {extra}: outside the plugin folder {plugin_dir}",
                "the archive holds the plugin folder only: copy what you need into it",
            )
        if not (plugin_dir / extra).exists():
            raise CommandError(f"--include {extra}: no such file or folder in {plugin_dir}")
        tops.add(os.path.normpath(extra))
    for top in tops:
        if not _lexically_inside(top):
            raise CommandError(f"{top}: outside the plugin folder {plugin_dir}")
    return sorted(tops)


def outside_links(plugin_dir: Path, relative: str) -> list[str]:
    """The symlinks at or under ``relative`` (in ``plugin_dir``) that lead outside it, as
    ``"link -> target"``; broken ones too."""
    copy = _Copy(plugin_dir.resolve(), follow_external=False)
    copy.copy(plugin_dir.resolve() / relative, None)
    return copy.outside + copy.broken


def stage_sources(
    plugin_dir: Path,
    manifest: Manifest,
    manifest_name: str,
    stage: Path,
    include: Sequence[str],
    *,
    follow_external_symlinks: bool = False,
) -> list[str]:
    """Copy what the server needs into ``stage``; returns the top-level entries copied.
    Raises :class:`CommandError` for symlinks leading outside the plugin folder (unless
    ``follow_external_symlinks``) or to nothing."""
    assert manifest.server is not None
    root = plugin_dir.resolve()
    tops = _tops(root, manifest, manifest_name, include)
    copy = _Copy(root, follow_external_symlinks)
    for top in tops:
        copy.copy(root / top, stage / top)
    if copy.outside:
        raise CommandError(
            "symlinks in the plugin lead outside it, and bundle packs the plugin folder "
            "only: " + "; ".join(copy.outside),
            "copy those files into the plugin, or pass --follow-external-symlinks to pack "
            "what they point to",
        )
    if copy.broken:
        raise CommandError("symlinks in the plugin lead nowhere: " + "; ".join(copy.broken))
    return tops
