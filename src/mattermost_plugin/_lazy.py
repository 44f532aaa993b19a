"""Load a module on first use, for generated code that must import quickly.

``c_user = lazy_module(__name__, "c_user", "mattermost_plugin._generated.converters.user")``
binds a stand-in; the first attribute access imports the real module and puts it in the
owner's globals, so later accesses cost nothing extra.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _LazyModule:
    __slots__ = ("_global", "_owner", "_target")

    def __init__(self, owner: str, global_name: str, target: str) -> None:
        self._owner, self._global, self._target = owner, global_name, target

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self._target)
        setattr(sys.modules[self._owner], self._global, module)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._target!r}>"


def lazy_module(owner: str, global_name: str, target: str) -> ModuleType:
    """A stand-in for ``target`` that replaces itself in ``owner`` on first use."""
    return _LazyModule(owner, global_name, target)  # type: ignore[return-value]
