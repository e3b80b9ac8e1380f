"""Fixtures for the integration tests: real ``ansible-playbook`` processes against local HTTP servers.

From ``tests/conftest.py`` these tests use ``collections_path``, ``simulator`` and ``sim``. What is added here:

- ``runner``: runs ``ansible-playbook`` in an isolated environment (see :class:`Runner`) and returns a
  :class:`PlaybookResult` whose task results come from a small aggregate callback, one JSON line per
  result, while the default callback still prints the usual human-readable output.
- ``play``: a ``runner`` whose environment points the collection at the session simulator.
- ``out``: an empty folder ``tmp_path/out`` for the reports a test's playbooks write.
- ``kept_file``: writes a file that a run must leave exactly as it was, and checks that it did.
- ``closed_url``: an API URL on 127.0.0.1 whose port refuses connections.
- ``proxy_trap``: a recording server every proxy variable points at. The collection only ever talks to
  127.0.0.1 (exempt through ``NO_PROXY``) in these tests, so any request reaching the trap was on its
  way to some other host: the autouse ``nothing_left_loopback`` fixture fails the test when that happens.
- :class:`LoopbackServer`: a scripted HTTP server on 127.0.0.1 for hostile answers and redirect targets.

Isolation: every run gets ``HOME``, Ansible's temporary folders, the lookup cache and ``ansible.cfg`` inside the
test's ``tmp_path``; inherited ``ANSIBLE_*``, ``DIGICERT_*`` and proxy variables are dropped. Nothing here
talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PLAYBOOKS = HERE / "playbooks"
LOOPBACK = "127.0.0.1"
API_PATH = "/services/v2"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")

# An aggregate callback that appends each task result to a JSON-lines file as it arrives, so even a
# run that dies half-way leaves what it did. Results are taken as ansible-core hands them to callbacks
# (native types since 2.19), minus Ansible's internal `_ansible_*` keys.
_EVENTS_CALLBACK = '''\
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: integration_events
type: aggregate
short_description: Test only; append every task result as a JSON line to $INTEGRATION_EVENTS_FILE
description: Written by tests/integration/conftest.py of certops.digicert.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "integration_events"
    CALLBACK_NEEDS_ENABLED = True

    def _emit(self, status, result, ignored=False):
        payload = getattr(result, "result", None)
        if payload is None:
            payload = result._result
        task = getattr(result, "task", None) or result._task
        host = getattr(result, "host", None) or result._host
        event = {
            "task": task.get_name(),
            "host": host.get_name(),
            "status": status,
            "ignored": ignored,
            "result": {k: v for k, v in dict(payload).items() if not str(k).startswith("_ansible_")},
        }
        with open(os.environ["INTEGRATION_EVENTS_FILE"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, default=str, ensure_ascii=False) + "\\n")

    def v2_runner_on_ok(self, result, **kwargs):
        self._emit("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._emit("failed", result, ignored=ignore_errors)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._emit("skipped", result)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._emit("unreachable", result)
'''


# A connection plugin that is the local connection under another name. certops.digicert's action plugin runs the
# task in the controller's worker when the connection is "local"; with this one it runs the real module through
# AnsiballZ, as it would on a remote host, without needing privileges (become would need a password as non-root).
_MODULE_PATH_CONNECTION = '''\
from __future__ import annotations

from ansible.plugins.connection.local import Connection as LocalConnection

DOCUMENTATION = """
name: integration_local
short_description: Test only; the local connection under another name
description:
  - Runs tasks on the controller like the local connection. Written by tests/integration/conftest.py of
    certops.digicert so that its action plugin takes the module path.
options:
  become_success_timeout:
    description: Seconds to wait for privilege escalation, as for the local connection.
    type: int
    default: 10
  become_strip_preamble:
    description: Whether to strip escalation output, as for the local connection.
    type: bool
    default: true
extends_documentation_fragment:
  - connection_pipelining
"""


class Connection(LocalConnection):
    transport = "integration_local"
'''


# ---- results ------------------------------------------------------------------------------------------------


@dataclass
class PlaybookResult:
    """One finished ``ansible-playbook`` run."""

    command: list[str]
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    events: list[dict[str, Any]]

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def events_of(self, task: str) -> list[dict[str, Any]]:
        found = [event for event in self.events if event["task"] == task]
        if not found:
            seen = sorted({event["task"] for event in self.events})
            raise KeyError(f"no result for a task named {task!r}; tasks seen: {seen}")
        return found

    def event(self, task: str, host: str = "localhost") -> dict[str, Any]:
        matches = [event for event in self.events_of(task) if event["host"] == host]
        if len(matches) != 1:
            raise KeyError(f"expected one result of {task!r} on {host}, found {len(matches)}")
        return matches[0]

    def result(self, task: str, host: str = "localhost") -> dict[str, Any]:
        return self.event(task, host)["result"]

    def ok(self, task: str, host: str = "localhost") -> dict[str, Any]:
        """The result of a task that must have succeeded."""
        event = self.event(task, host)
        assert event["status"] == "ok", f"{task} on {host}: {event['status']}: {event['result'].get('msg')}\n{self}"
        return event["result"]

    def failed(self, task: str, host: str = "localhost") -> dict[str, Any]:
        """The result of a task that must have failed cleanly: a message and no Python traceback."""
        event = self.event(task, host)
        result = event["result"]
        assert event["status"] == "failed", f"{task} on {host} did not fail: {result}"
        assert isinstance(result.get("msg"), str) and result["msg"], f"{task}: failure without a message: {result}"
        for key in ("module_stderr", "module_stdout"):
            assert not result.get(key), f"{task}: failure carries {key}: {result.get(key)!r}"
        # ansible-core 2.19 adds `exception: (traceback unavailable)` to every failure without one; a real
        # Python traceback means the collection crashed instead of failing with a message.
        assert "Traceback" not in json.dumps(result), f"{task}: traceback in the result: {result}"
        return result

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.command)}\nexit {self.rc} after {self.elapsed:.1f}s\n"
            f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"
        )


# ---- the runner ---------------------------------------------------------------------------------------------


def _ansible_playbook() -> str:
    candidate = Path(sys.executable).with_name("ansible-playbook")
    return str(candidate) if candidate.exists() else "ansible-playbook"


def _render_ini(sections: dict[str, dict[str, Any]]) -> str:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


class Runner:
    """Runs ``ansible-playbook`` with everything it writes kept under one test's ``tmp_path``.

    ``env`` holds the variables of every run; a run's own ``env`` adds to it and ``unset`` removes names.
    """

    def __init__(self, tmp_path: Path, collections_path: Path, proxy_url: str) -> None:
        self.tmp_path = tmp_path
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        self.cache_dir = tmp_path / "cache"
        self.runs = 0
        callback_dir = tmp_path / "callback_plugins"
        callback_dir.mkdir(exist_ok=True)
        (callback_dir / "integration_events.py").write_text(_EVENTS_CALLBACK, encoding="utf-8")
        connection_dir = tmp_path / "connection_plugins"
        connection_dir.mkdir(exist_ok=True)
        (connection_dir / "integration_local.py").write_text(_MODULE_PATH_CONNECTION, encoding="utf-8")
        self.inventory = tmp_path / "inventory.ini"
        self.inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's CA file; they are dropped so
        # that TLS tests see ca_path alone (one test puts them back on purpose).
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("ANSIBLE_", "DIGICERT_"))
            and name.lower() not in PROXY_VARIABLES
            and name not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        }
        proxies = {name: proxy_url for name in ("http_proxy", "https_proxy", "all_proxy")}
        proxies["no_proxy"] = f"{LOOPBACK},localhost"
        self.env: dict[str, str] = {
            **inherited,
            **proxies,
            **{name.upper(): value for name, value in proxies.items()},
            "HOME": str(self.home),
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_CALLBACK_PLUGINS": str(callback_dir),
            "ANSIBLE_CALLBACKS_ENABLED": "integration_events",
            "ANSIBLE_CONNECTION_PLUGINS": str(connection_dir),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "DIGICERT_CACHE_DIR": str(self.cache_dir),
        }

    def use_api(self, server: Any) -> None:
        """Point every later run at SERVER (a simulator): its API URL and the API key it accepts."""
        self.env.update(DIGICERT_API_URL=server.base_url, DIGICERT_API_KEY=server.api_key)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def run(
        self,
        playbook: str | os.PathLike,
        *,
        extra_vars: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        unset: tuple[str, ...] | list[str] = (),
        inventory: str | os.PathLike | None = None,
        cfg: dict[str, dict[str, Any]] | None = None,
        verbosity: int = 0,
        check: bool = False,
        diff: bool = False,
        forks: int | None = None,
        args: tuple[str, ...] | list[str] = (),
        timeout: float = 240,
    ) -> PlaybookResult:
        self.runs += 1
        number = self.runs
        playbook = Path(playbook)
        if not playbook.is_absolute():
            playbook = PLAYBOOKS / playbook
        events_file = self.tmp_path / f"events-{number}.jsonl"
        config = self.write(f"ansible-{number}.cfg", _render_ini(cfg or {"defaults": {}}))
        command = [_ansible_playbook(), str(playbook), "-i", str(inventory or self.inventory)]
        if extra_vars:
            command += ["-e", "@" + str(self.write(f"extra-vars-{number}.json", json.dumps(extra_vars)))]
        if verbosity:
            command.append("-" + "v" * verbosity)
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if forks is not None:
            command += ["--forks", str(forks)]
        command += list(args)
        environment = {**self.env, **(env or {})}
        environment["ANSIBLE_CONFIG"] = str(config)
        environment["INTEGRATION_EVENTS_FILE"] = str(events_file)
        for name in unset:
            environment.pop(name, None)
        started = time.monotonic()
        completed = subprocess.run(
            command,
            cwd=str(self.tmp_path),
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        elapsed = time.monotonic() - started
        events = []
        if events_file.exists():
            events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line]
        return PlaybookResult(command, completed.returncode, completed.stdout, completed.stderr, elapsed, events)


@pytest.fixture
def runner(tmp_path: Path, collections_path: Path, proxy_trap: LoopbackServer) -> Runner:
    """A Runner with no API settings: the test says where the collection should connect."""
    return Runner(tmp_path, collections_path, proxy_trap.url)


@pytest.fixture
def play(runner: Runner, sim) -> Runner:
    """A Runner whose environment points the collection at the session simulator (reset for this test)."""
    runner.use_api(sim)
    return runner


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder, tmp_path/out, for the reports the test's playbooks write."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# ---- loopback servers ---------------------------------------------------------------------------------------


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


Answer = tuple[int, list[tuple[str, str]], bytes]


class LoopbackServer:
    """A scripted HTTP/1.1 server on 127.0.0.1 that records every request it gets.

    ``respond(request)`` returns ``(status, headers, body)``. Used as a proxy trap, a hostile API and a
    redirect target. Started and stopped as a context manager; its threads are daemons.
    """

    def __init__(self, respond: Callable[[SeenRequest], Answer]) -> None:
        self.respond = respond
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):
                pass

            def _any(self):
                seen = SeenRequest(self.command, self.path, dict(self.headers.items()))
                with server._lock:
                    server.requests.append(seen)
                status, headers, body = server.respond(seen)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_CONNECT = do_OPTIONS = _any

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    def seen(self) -> list[SeenRequest]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


@pytest.fixture(scope="session")
def proxy_trap() -> Iterator[LoopbackServer]:
    with LoopbackServer(lambda request: (502, [("Content-Type", "text/plain")], b"proxy trap: no way out\n")) as trap:
        yield trap


@pytest.fixture(autouse=True)
def nothing_left_loopback(proxy_trap: LoopbackServer) -> Iterator[None]:
    """Fail any test during which something tried to reach a host other than 127.0.0.1."""
    proxy_trap.clear()
    yield
    escaped = proxy_trap.seen()
    assert not escaped, f"requests headed away from loopback: {[(r.method, r.path) for r in escaped]}"


@pytest.fixture(scope="session")
def closed_url() -> Iterator[str]:
    """An API URL on 127.0.0.1 whose port is bound but never listens, so connecting is refused at once."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind((LOOPBACK, 0))
    try:
        yield f"http://{LOOPBACK}:{holder.getsockname()[1]}{API_PATH}"
    finally:
        holder.close()


@pytest.fixture
def loopback_server() -> Iterator[Callable[[Callable[[SeenRequest], Answer]], LoopbackServer]]:
    """Start LoopbackServers with a given answer function; all are stopped when the test ends."""
    started: list[LoopbackServer] = []

    def start(respond: Callable[[SeenRequest], Answer]) -> LoopbackServer:
        server = LoopbackServer(respond).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


# ---- inventories and files ----------------------------------------------------------------------------------


@dataclass
class Inventory:
    path: Path
    hosts: list[str] = field(default_factory=list)


@pytest.fixture
def fleet_inventory(tmp_path: Path) -> Callable[..., Inventory]:
    """Write an INI inventory of COUNT local hosts in one group, with GROUP_VARS as that group's vars file."""

    def write(count: int, group_vars: str, group: str = "fleet", name: str = "fleet") -> Inventory:
        directory = tmp_path / name
        (directory / "group_vars").mkdir(parents=True, exist_ok=True)
        hosts = [f"node{index:02d}" for index in range(1, count + 1)]
        lines = [f"[{group}]", *hosts, "", f"[{group}:vars]", "ansible_connection=local"]
        lines.append(f"ansible_python_interpreter={sys.executable}")
        path = directory / "hosts.ini"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        (directory / "group_vars" / f"{group}.yml").write_text(group_vars, encoding="utf-8")
        return Inventory(path, hosts)

    return write


@dataclass
class KeptFile:
    """A file written before a run that the run must leave as it was: same bytes, inode, mtime and mode."""

    path: Path
    content: bytes
    mode: int
    before: os.stat_result

    def assert_untouched(self) -> None:
        after = self.path.stat()
        assert self.path.read_bytes() == self.content, f"{self.path} was rewritten"
        assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == (
            self.before.st_ino,
            self.before.st_mtime_ns,
            self.mode,
        ), f"{self.path} was replaced, touched or changed mode"


def keep_file(path: Path, text: str, mode: int = 0o600) -> KeptFile:
    """Write TEXT (UTF-8) to PATH with MODE; the returned KeptFile checks later that nothing changed it."""
    content = text.encode("utf-8")
    path.write_bytes(content)
    path.chmod(mode)
    return KeptFile(path, content, mode, path.stat())


@pytest.fixture
def kept_file() -> Callable[..., KeptFile]:
    """keep_file for the test modules (a conftest is not importable by name)."""
    return keep_file


def files_under(root: Path) -> list[Path]:
    """Regular files below ROOT (symlinks are not followed)."""
    return [path for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def assert_not_in_files(secret: str, paths: list[Path]) -> None:
    """No file of PATHS has SECRET in its path or in its bytes."""
    for path in paths:
        assert secret not in str(path), path
        assert secret.encode() not in path.read_bytes(), f"the secret is in {path}"


@pytest.fixture(scope="session")
def file_tools() -> SimpleNamespace:
    """files_under, mode_of and assert_not_in_files for the test modules (a conftest is not importable by name)."""
    return SimpleNamespace(files_under=files_under, mode_of=mode_of, assert_not_in_files=assert_not_in_files)
