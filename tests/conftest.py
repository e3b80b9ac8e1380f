"""Fixtures shared by every pytest suite of the collection.

- ``collection_root``: the repository root, which is also the collection root.
- ``collections_path``: ``build/collections``, holding ``ansible_collections/certops/digicert`` as a
  symlink to the repository, ready for ``ANSIBLE_COLLECTIONS_PATH``.
- ``run_playbook``: runs ``ansible-playbook`` from this virtual environment against that tree.
- ``simulator`` (one per session) and ``sim`` (the same one, reset before each test): the
  DigiCert simulator of ``tests/simulator``, imported only when a test asks for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from json import dumps as json_dumps
from json import loads as json_loads
from pathlib import Path
from typing import Any

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parent.parent
COLLECTION_NAMESPACE = "certops"
COLLECTION_NAME = "digicert"
BUILD_COLLECTIONS = COLLECTION_ROOT / "build" / "collections"

# ansible-core ships no JSON stdout callback (the old `json` one lives in ansible.posix, which we
# do not install), so run_playbook(json=True) enables this small one: it records every task
# result next to the normal output and writes them as one JSON document when the run ends.
_RESULTS_CALLBACK_NAME = "certops_test_results"
_RESULTS_CALLBACK_SOURCE = '''\
"""Test-only callback written by tests/conftest.py: every task result as JSON, in a file."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: certops_test_results
type: aggregate
short_description: Write task results to the JSON file named by CERTOPS_TEST_RESULTS_FILE
description: Used by the collection's pytest suites only.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "certops_test_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plays = []

    def v2_playbook_on_play_start(self, play):
        self._plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._plays[-1]["tasks"].append({"task": {"name": task.get_name(), "action": task.action}, "hosts": {}})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _record(self, result, status):
        # ansible-core 2.19 hands callbacks `result.result`; 2.16-2.18 only have `_result`.
        payload = getattr(result, "result", None)
        if payload is None:
            payload = result._result
        cleaned = json.loads(self._dump_results(payload, keep_invocation=True))
        cleaned["_status"] = status
        host = getattr(result, "host", None) or result._host
        self._plays[-1]["tasks"][-1]["hosts"][host.get_name()] = cleaned

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, "skipped" if result.is_skipped() else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(os.environ["CERTOPS_TEST_RESULTS_FILE"], "w", encoding="utf-8") as handle:
            json.dump({"plays": self._plays, "stats": summary}, handle, indent=2, sort_keys=True)
'''


def build_collections_tree() -> Path:
    """Create ``build/collections/ansible_collections/certops/digicert`` -> repository root; return build/collections.

    Safe to call from several processes at once (pytest-xdist workers): the link is made under a
    temporary name and renamed into place.
    """
    link = BUILD_COLLECTIONS / "ansible_collections" / COLLECTION_NAMESPACE / COLLECTION_NAME
    target = os.path.join("..", "..", "..", "..")
    if not (link.is_symlink() and os.readlink(link) == target):
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.with_name(f".{COLLECTION_NAME}.{os.getpid()}")
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(target, target_is_directory=True)
        os.replace(temporary, link)
    return BUILD_COLLECTIONS


@pytest.fixture(scope="session")
def collection_root() -> Path:
    return COLLECTION_ROOT


@pytest.fixture(scope="session")
def collections_path() -> Path:
    return build_collections_tree()


@dataclass
class PlaybookRun:
    """What one ansible-playbook run left behind."""

    args: list[str]
    rc: int
    stdout: str
    stderr: str
    # With json=True: {"plays": [{"play": {...}, "tasks": [{"task": {...}, "hosts": {host: result}}]}],
    # "stats": {host: {"ok": n, "changed": n, "failures": n, ...}}}
    json: dict[str, Any] | None = None

    def task_results(self, task_name: str) -> dict[str, dict[str, Any]]:
        """Per-host results of the last task called TASK_NAME (needs json=True)."""
        if self.json is None:
            raise ValueError(f"no task results: run with json=True, and check the run got to its end\n{self}")
        found = None
        for play in self.json["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == task_name:
                    found = task["hosts"]
        if found is None:
            raise KeyError(f"no task named {task_name!r} ran")
        return found

    def __str__(self) -> str:
        return f"ansible-playbook exited {self.rc}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def _ansible_playbook() -> str:
    # The one next to this interpreter, so plugins run with the venv's requests and ansible-core.
    candidate = Path(sys.executable).with_name("ansible-playbook")
    return str(candidate) if candidate.exists() else "ansible-playbook"


def _inventory_argument(inventory: Any) -> str:
    if isinstance(inventory, (list, tuple)):
        # A list of host names becomes an inline inventory: "a,b,".
        return ",".join(str(host) for host in inventory) + ","
    return str(inventory)


@pytest.fixture
def run_playbook(collections_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Return a function that runs ansible-playbook and returns a PlaybookRun; it never raises on rc != 0."""

    def run(
        playbook_path: str | os.PathLike,
        extra_vars: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        inventory: Any = None,
        verbosity: int = 0,
        check: bool = False,
        forks: int | None = None,
        json: bool = False,
        args: list[str] | tuple[str, ...] = (),
        timeout: float = 600,
        cwd: str | os.PathLike | None = None,
    ) -> PlaybookRun:
        work = tmp_path_factory.mktemp("playbook")
        command = [_ansible_playbook(), str(playbook_path)]
        if inventory is not None:
            command += ["-i", _inventory_argument(inventory)]
        if extra_vars:
            command += ["-e", json_dumps(extra_vars)]
        if verbosity:
            command.append("-" + "v" * verbosity)
        if check:
            command.append("--check")
        if forks is not None:
            command += ["--forks", str(forks)]
        command += list(args)

        environment = dict(os.environ)
        environment.update(
            {
                "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_LOCALHOST_WARNING": "False",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                # Hosts reached over the local connection run modules with this venv's Python.
                "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
                "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"),
                "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote"),
            }
        )
        results_file = work / "results.json"
        if json:
            callback_dir = work / "callback_plugins"
            callback_dir.mkdir()
            (callback_dir / f"{_RESULTS_CALLBACK_NAME}.py").write_text(_RESULTS_CALLBACK_SOURCE)
            environment["ANSIBLE_CALLBACK_PLUGINS"] = str(callback_dir)
            enabled = [name for name in environment.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if name]
            environment["ANSIBLE_CALLBACKS_ENABLED"] = ",".join([*enabled, _RESULTS_CALLBACK_NAME])
            environment["CERTOPS_TEST_RESULTS_FILE"] = str(results_file)
        environment.update(env or {})

        completed = subprocess.run(
            command,
            cwd=str(cwd or COLLECTION_ROOT),
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        parsed = None
        # No file when ansible-playbook stopped before the end of the run (a syntax error, say).
        if json and results_file.exists():
            try:
                parsed = json_loads(results_file.read_text())
            except ValueError as exc:
                message = f"the test callback wrote no valid JSON ({exc}); ansible-playbook stderr:"
                raise RuntimeError(f"{message}\n{completed.stderr[-4000:]}") from exc
        return PlaybookRun(command, completed.returncode, completed.stdout, completed.stderr, parsed)

    return run


@pytest.fixture(scope="session")
def simulator():
    """One DigiCert simulator for the whole session (per xdist worker), stopped at the end."""
    # Imported here so that plugin unit tests never depend on the simulator importing cleanly.
    from tests.simulator.control import SimulatorProcess

    with SimulatorProcess() as process:
        yield process


@pytest.fixture
def sim(simulator):
    """The session simulator with its counters, faults and orders back to the start data."""
    simulator.reset(orders=True)
    return simulator


@pytest.fixture
def sim_env(sim) -> dict[str, str]:
    """Environment that points the collection's plugins at the simulator."""
    return {"DIGICERT_API_URL": sim.base_url, "DIGICERT_API_KEY": sim.api_key}


def pytest_configure(config: pytest.Config) -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    # Two-core CI machines are slow and noisy: no per-example deadline anywhere, and a fixed
    # seed sequence in CI so a failure there replays the same way.
    settings.register_profile("dev", deadline=None)
    settings.register_profile(
        "ci",
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
