"""Coverage of the plugin's process, when the host runs under coverage.py.

Under ``pytest --cov`` or ``coverage run -m pytest`` a plugin's code runs in its own
process, which coverage does not follow by itself (pytest-cov stopped measuring
subprocesses in version 7). So when coverage is measuring this process, the supervisor
starts the plugin as::

    python -m coverage run --rcfile=:data:<this process's configuration> server/plugin.py

with the data file set to ``<this process's data file>.mattermost-plugin.<random>``.

Why this and not ``COVERAGE_PROCESS_START`` with a start-up hook: that needs a ``.pth``
file in the plugin interpreter's site-packages and the configuration in a file, while
``coverage run`` works with any interpreter that has coverage installed, and the
serialized configuration carries what pytest-cov passes as arguments (``--cov=server``,
``--cov-branch``) and no file holds. When the host already has coverage measure every
subprocess (``[run] patch = subprocess``, which sets ``COVERAGE_PROCESS_CONFIG``), the
plugin is started as usual and that does it.

The plugin's process writes its data when it exits after the host's ``Shutdown`` (it leaves
through ``sys.exit``). A process that is killed (it ignored Shutdown for 2 s) or crashes
loses what it measured.

The data reaches the host's report: its file sits next to the host's data file with a name
that ``coverage combine`` takes in, so a host in parallel mode (pytest-cov always is) combines
it with the rest; a host that is not (plain ``coverage run``) gets it added to its own data as
soon as the plugin's process has exited.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coverage import Coverage

__all__ = ["PluginCoverage", "plugin_coverage"]

_log = logging.getLogger("mattermost_plugin.host.coverage")
_SUBPROCESS_VARIABLES = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")
_CAN_RUN = (
    "import coverage.config as c; raise SystemExit(not hasattr(c.CoverageConfig, 'deserialize'))"
)
_usable: dict[str, bool] = {}
_warned: set[str] = set()
_usable_lock = threading.Lock()


class PluginCoverage:
    """How one plugin process is measured: its command line, and its data afterwards."""

    def __init__(self, host: Coverage) -> None:
        self.host = host
        self.data_file = (
            f"{os.path.abspath(host.config.data_file)}.mattermost-plugin.{uuid.uuid4().hex}"
        )

    def command(self, python: str, script: str) -> list[str]:
        from coverage.config import CoverageConfig

        # A serialized configuration is taken whole (command-line options do not apply):
        # write the data to a file of our own, so that it can be found afterwards.
        config = CoverageConfig.deserialize(self.host.config.serialize())
        config.data_file = self.data_file
        config.parallel = False
        return [python, "-m", "coverage", "run", f"--rcfile=:data:{config.serialize()}", script]

    def collect(self) -> None:
        """After the process exited: add its data to the host's, unless the host is in
        parallel mode (then combining takes the file in)."""
        if self.host.config.parallel or not os.path.exists(self.data_file):
            return
        from coverage import CoverageData

        measured = CoverageData(basename=self.data_file)
        try:
            measured.read()
            self.host.get_data().update(measured)
        except Exception as exc:  # a broken data file must not break stopping the plugin
            _log.warning("could not add the plugin's coverage data (%s): %s", self.data_file, exc)
            return
        finally:
            measured.close(force=True)
        os.remove(self.data_file)


def plugin_coverage(python: str) -> PluginCoverage | None:
    """How to measure a plugin run by ``python``, or ``None``: coverage is not measuring
    this process, already follows subprocesses itself, or ``python`` cannot run it."""
    if "coverage" not in sys.modules or any(os.environ.get(v) for v in _SUBPROCESS_VARIABLES):
        return None
    from coverage import Coverage

    host = Coverage.current()
    if host is None:
        return None
    if not hasattr(type(host.config), "deserialize"):
        _warn_once("coverage.py is older than 7.10.7: the plugin's process is not measured")
        return None
    return PluginCoverage(host) if _can_run(python) else None


def _warn_once(message: str) -> None:
    with _usable_lock:
        if message not in _warned:
            _warned.add(message)
            _log.warning("%s", message)


def _can_run(python: str) -> bool:
    """Whether ``python`` has a coverage.py that reads a serialized configuration (7.10.7+)."""
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        return True
    with _usable_lock:
        if python not in _usable:
            _usable[python] = _probe([python, "-c", _CAN_RUN])
    if not _usable[python]:
        _warn_once(
            f"coverage.py 7.10.7 or newer is not installed for {python}: the plugin's "
            "process is not measured (install the SDK's `test` extra there)"
        )
    return _usable[python]


def _probe(command: Sequence[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
