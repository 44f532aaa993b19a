"""The part of ``mattermost-plugin validate`` that runs inside the plugin's interpreter.

``validate`` runs this file's source with ``python -c`` (so no folder of the SDK lands on
``sys.path``) in the plugin folder, with the interpreter that will run the plugin. It uses
only the standard library until it imports the SDK, so it still reports the interpreter and
syntax errors where the SDK is missing, and it runs on interpreters older than the SDK's.

Arguments: ``<executable relative to the plugin folder> <result file> [extra sys.path
entry ...]``. It runs the executable as ``__main__`` the way the server does, except that
``run_plugin`` is replaced by a function that records the plugin class and stops, and
stdout is captured (anything written there before the handshake breaks the protocol). The
findings go to the result file as JSON, never to stdout, which user code may write to.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import platform
import runpy
import site
import sys
import textwrap
import traceback
from typing import Any

SKIPPED_DIRS = {"venv", ".venv", "vendor", "wheelhouse", "__pycache__", "node_modules"}


class _Captured(BaseException):
    """Raised by the stand-in ``run_plugin``: a BaseException, so ``except Exception`` in
    user code cannot swallow it."""


def _rel(path: str, root: str) -> str:
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def _problem(severity: str, where: str, message: str) -> dict[str, str]:
    return {"severity": severity, "where": where, "message": message}


def check_syntax(root: str, folder: str, problems: list[dict[str, str]]) -> set[str]:
    """Compile every .py file under ``folder``; returns the files that failed."""
    failed = set()
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(current, name)
            where = _rel(path, root)
            try:
                with open(path, "rb") as handle:
                    source = handle.read()
                compile(source, where, "exec", dont_inherit=True)
            except SyntaxError as exc:
                line = f":{exc.lineno}" if exc.lineno else ""
                problems.append(_problem("error", where + line, f"{type(exc).__name__}: {exc.msg}"))
                failed.add(os.path.abspath(path))
            except (ValueError, UnicodeDecodeError) as exc:  # e.g. null bytes, bad encoding
                problems.append(_problem("error", where, f"cannot be compiled: {exc}"))
                failed.add(os.path.abspath(path))
    return failed


def _user_frame(tb: Any, root: str) -> str:
    """``file:line`` of the innermost frame inside the plugin folder."""
    where = ""
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        relative = _rel(filename, root)
        inside = relative != filename and not SKIPPED_DIRS & set(relative.split("/"))
        if inside:
            where = f"{relative}:{lineno}"
    return where


def _location(func: Any, root: str) -> str:
    code = getattr(func, "__code__", None)
    if code is None:
        return ""
    return f"{_rel(code.co_filename, root)}:{code.co_firstlineno}"


def _api_style(
    cls_name: str, attr: str, func: Any, is_async: bool, root: str
) -> list[dict[str, str]]:
    """The blocking client in an ``async def`` handler stalls the event loop that runs every
    other async handler; the async client in a ``def`` handler makes coroutines nobody
    awaits. Found by reading the handler's source for ``self.api.X`` / ``self.async_api.X``."""
    try:
        lines, first = inspect.getsourcelines(func)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return []
    found = []
    wrong = "api" if is_async else "async_api"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
            and node.value.attr == wrong
        ):
            where = f"{_rel(func.__code__.co_filename, root)}:{first + node.lineno - 1}"
            if is_async:
                message = (
                    f"{cls_name}.{attr} is async def but calls self.api.{node.attr}, which "
                    f"blocks the event loop every async handler shares; use "
                    f"await self.async_api.{node.attr}(...)"
                )
                found.append(_problem("warning", where, message))
            else:
                message = (
                    f"{cls_name}.{attr} is a def handler but calls self.async_api.{node.attr}, "
                    f"which makes a coroutine that never runs; use self.api.{node.attr}(...), "
                    f"or make the handler async def and await it"
                )
                found.append(_problem("error", where, message))
    return found


def describe_class(cls: Any, root: str, hooks: Any, problems: list[dict[str, str]]) -> Any:
    handlers = {}
    for hook_name, attr in cls.__hook_handlers__.items():
        raw = inspect.getattr_static(cls, attr)
        func = getattr(raw, "__func__", raw)
        is_async = inspect.iscoroutinefunction(func)
        handlers[hook_name] = {
            "method": attr,
            "async": is_async,
            "where": _location(func, root),
        }
        kind = ""
        if inspect.isasyncgenfunction(func):
            kind = "an async generator function (async def with yield)"
        elif inspect.isgeneratorfunction(func):
            kind = "a generator function (def with yield)"
        if kind:
            problems.append(
                _problem(
                    "error",
                    _location(func, root),
                    f"{cls.__name__}.{attr} handles {hook_name} but is {kind}: calling it "
                    f"returns a generator, not the hook's answer; return the value instead",
                )
            )
        problems.extend(_api_style(cls.__name__, attr, func, is_async, root))
        if isinstance(raw, (staticmethod, classmethod)):
            problems.append(
                _problem(
                    "error",
                    _location(func, root),
                    f"{cls.__name__}.{attr} handles {hook_name} but is a "
                    f"{type(raw).__name__}: handlers are plain methods taking self",
                )
            )
    # Methods named like a hook in Go (a method named in snake_case, message_has_been_posted,
    # is the hook's handler): not registered, so the server never calls them.
    names = {name: name for name in hooks}
    for klass in cls.__mro__:
        if klass.__module__.startswith("mattermost_plugin"):
            continue
        for attr, value in vars(klass).items():
            hook_name = names.get(attr)
            if hook_name is None or hook_name in cls.__hook_handlers__:
                continue
            if attr in cls.__hook_handlers__.values() or not callable(value):
                continue
            func = getattr(value, "__func__", value)
            problems.append(
                _problem(
                    "warning",
                    _location(func, root),
                    f"{cls.__name__}.{attr} looks like a {hook_name} handler but has no "
                    f"@hook(HookName.{hook_name}): Implemented() will not list {hook_name}, "
                    f"so the server never calls it",
                )
            )
    try:
        inspect.signature(cls).bind()
    except TypeError:
        problems.append(
            _problem(
                "error",
                _location(cls.__init__, root),
                f"{cls.__name__}() cannot be built without arguments, but run_plugin() builds "
                f"it that way; give __init__ defaults, or configure in OnActivate",
            )
        )
    except ValueError:
        pass
    described = {
        "name": cls.__qualname__,
        "implemented": list(cls.implemented_hooks()),
        "handlers": handlers,
    }
    model = getattr(cls, "__settings_model__", None)
    if model is not None:
        from mattermost_plugin.settings import SettingsError, settings_schema

        try:
            described["settings_schema"] = settings_schema(model)
        except SettingsError as exc:
            problems.append(_problem("error", _location(model, root), f"{model.__name__}: {exc}"))
    return described


def _defined_in(cls: Any, root: str) -> bool:
    """Whether a class was defined by the plugin (the script, or a module in its folder)."""
    if cls.__module__ == "__main__":
        return True
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if code is not None:
            filename: str = code.co_filename
            return _rel(filename, root) != filename
    return False


def _subclasses(cls: Any) -> list[Any]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def check(executable: str, extra_paths: list[str]) -> dict[str, Any]:
    root = os.getcwd()
    script = os.path.abspath(executable)
    problems: list[dict[str, str]] = []
    result: dict[str, Any] = {
        "python": {
            "executable": sys.executable,
            "version": list(sys.version_info[:3]),
            "implementation": sys.implementation.name,
            "platform": sys.platform,
            "machine": platform.machine(),
        },
        "problems": problems,
        "served": None,
        "plugins": [],
    }
    failed = check_syntax(root, os.path.dirname(script), problems)
    if script in failed or not os.path.isfile(script):
        return result

    # As when the server runs `python server/plugin.py`: the script's folder comes first.
    sys.path[0] = os.path.dirname(script)
    for index, entry in enumerate(extra_paths, start=1):
        sys.path.insert(index, entry)
        site.addsitedir(entry)  # .pth files, as the bundle entry processes them
    try:
        import mattermost_plugin.plugin as sdk_plugin
        import mattermost_plugin.server as sdk_server
        from mattermost_plugin._generated.hook_table import HOOKS
        from mattermost_plugin.plugin import Plugin
    except Exception as exc:
        problems.append(
            _problem(
                "error",
                "",
                f"{sys.executable} cannot import the SDK ({type(exc).__name__}: {exc}); "
                f"install the plugin's requirements into it (pip install -r "
                f"server/requirements.txt), or check with another interpreter (--python)",
            )
        )
        return result

    served: list[Any] = []

    def run_plugin(plugin_class: Any, **kwargs: Any) -> Any:
        served.append(plugin_class)
        raise _Captured

    sdk_server.run_plugin = run_plugin
    where_script = _rel(script, root)
    captured = io.StringIO()
    real_stdout = sys.stdout
    sys.stdout = captured
    called = False
    try:
        runpy.run_path(script, run_name="__main__")
    except _Captured:
        called = True
    except SystemExit as exc:
        problems.append(
            _problem(
                "error",
                where_script,
                f"exits while starting (SystemExit: {exc.code!r}) before it calls run_plugin()",
            )
        )
    except BaseException as exc:
        # A handler the class refuses is named by its own line, not the class statement's
        # (an SDK older than HandlerDefinitionError has none: its tuple matches nothing).
        where = ""
        if isinstance(exc, getattr(sdk_plugin, "HandlerDefinitionError", ())):
            where = _location(getattr(exc, "handler", None), root)
        where = where or _user_frame(exc.__traceback__, root) or where_script
        text = str(exc)
        problems.append(_problem("error", where, f"{type(exc).__name__}: {text}"))
        if isinstance(exc, ImportError) and exc.name and not exc.name.startswith("mattermost"):
            problems.append(
                _problem(
                    "error",
                    "",
                    f"{exc.name!r} is not installed for {sys.executable}: list it in "
                    f"server/requirements.txt and install it there, or pass --python",
                )
            )
    finally:
        sys.stdout = real_stdout
    written = captured.getvalue()
    if written:
        first = written.strip().splitlines()[0] if written.strip() else repr(written)
        problems.append(
            _problem(
                "error",
                where_script,
                f"writes to stdout before the handshake ({first[:80]!r}); the server reads "
                f"the handshake from the first stdout line: log with self.logger, or print "
                f"to sys.stderr",
            )
        )
    classes = []
    if called or not problems:
        classes = [c for c in _subclasses(Plugin) if _defined_in(c, root)]
    for cls in classes:
        result["plugins"].append(describe_class(cls, root, HOOKS, problems))
    if served:
        plugin_class = served[0]
        result["served"] = plugin_class.__qualname__
        if plugin_class not in classes:
            result["plugins"].append(describe_class(plugin_class, root, HOOKS, problems))
        if not plugin_class.__hook_handlers__:
            problems.append(
                _problem(
                    "warning",
                    where_script,
                    f"{plugin_class.__name__} implements no hooks: the server will never call "
                    f"it; mark handlers with @hook(HookName....)",
                )
            )
    elif called is False and not any(p["severity"] == "error" for p in problems):
        names = ", ".join(c.__name__ for c in classes) or "MyPlugin"
        problems.append(
            _problem(
                "error",
                where_script,
                f"never calls run_plugin(), so the server would get no handshake; end the file "
                f"with: if __name__ == '__main__': run_plugin({names.split(', ')[0]})"
                + (f" (found {names})" if classes else ""),
            )
        )
    return result


def main() -> None:
    executable, result_file, *extra = sys.argv[1:]
    result = check(executable, extra)
    with open(result_file, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
