"""Helpers shared by the unit tests of plugins/ (imported by name; tests/unit/plugins is put on sys.path).

The expected values written by hand from DigiCert's page "List codes for voucher order" live in
tests/documented_samples.py; tests/unit/plugins/fixtures/ holds the page's JSON and CSV samples byte for byte.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests import documented_samples as samples

PLUGINS_TESTS = Path(__file__).resolve().parent
REPO = PLUGINS_TESTS.parents[2]
FIXTURES = PLUGINS_TESTS / "fixtures"
SEED_PAGE = Path("/work/shared/seed/list-codes-for-voucher-order.txt")

LARGE_ORDER_ID = 90001
LARGE_ORDER_SIZE = 3000


def documented_json_text() -> str:
    return (FIXTURES / "documented_codes.json").read_text(encoding="utf-8")


def documented_csv_text() -> str:
    return (FIXTURES / "documented_codes.csv").read_text(encoding="utf-8")


def documented_json_records() -> list[dict]:
    """The JSON sample's records exactly as DigiCert sends them (untyped), a fresh copy each call."""
    return json.loads(documented_json_text())["codes"]


def documented_csv_lines_for(order_id: int) -> list[str]:
    """The CSV sample's header and the rows of one voucher order, as lines."""
    lines = documented_csv_text().splitlines(keepends=True)
    column = samples.FIELDS.index("voucher_order_id")
    return [lines[0]] + [line for line in lines[1:] if next(csv.reader([line]))[column] == str(order_id)]


# ---- simulator -------------------------------------------------------------------------------------------------


def simulator_control():
    """tests/simulator/control.py, loaded under a name of our own."""
    name = "certops_unit_simulator_control"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "simulator" / "control.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


# ---- the client ------------------------------------------------------------------------------------------------


class RecordingSleep:
    """A ``sleep`` for DigiCertClient that records the delays it was asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def settings_for(base_url: str, api_key: str, **overrides):
    from ansible_collections.certops.digicert.plugins.module_utils._api import ConnectionSettings

    values = {
        "api_key": api_key,
        "api_url": base_url,
        "timeout": 5.0,
        "validate_certs": True,
        "ca_path": None,
        "retries": 3,
        "max_retry_wait": 60.0,
        "max_workers": 4,
    }
    values.update(overrides)
    return ConnectionSettings(**values)


def key_fragments(key: str, size: int = 10) -> list[str]:
    """Every substring of ``key`` with ``size`` characters: none may show up where a person could read it."""
    return [key[start : start + size] for start in range(0, len(key) - size + 1)]


def assert_no_key(text: str, key: str, size: int = 10) -> None:
    assert key not in text
    leaked = [fragment for fragment in key_fragments(key, size) if fragment in text]
    assert not leaked, f"parts of the API key appear in: {text!r}"


# ---- a tiny loopback HTTP server for hostile or redirecting answers --------------------------------------------


class LoopbackServer:
    """A threaded HTTP/1.1 server on a loopback address that answers every request with ``respond(handler)``.

    ``respond`` returns ``(status, headers, body)``; a Content-Length among the headers is sent as given (to
    fake a body that breaks off), or not at all when its value is None (the body then ends with the
    connection), and the connection is closed after the answer. Every request's path and
    headers are kept.
    """

    def __init__(self, respond, host: str = "127.0.0.1") -> None:
        self.respond = respond
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                outer.received.append({"path": self.path, "headers": dict(self.headers.items())})
                status, headers, body = outer.respond(self)
                self.send_response(status)
                for name, value in headers:
                    if value is not None:
                        self.send_header(name, value)
                if not any(name.lower() == "content-length" for name, _value in headers):
                    self.send_header("Content-Length", str(len(body)))
                else:
                    # A declared length that the body does not fill: end the connection after it.
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/services/v2"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


# ---- running the module in-process -----------------------------------------------------------------------------


@contextlib.contextmanager
def module_args(args: dict):
    """Expose ``args`` to AnsibleModule: ansible-core's own helper where it exists, else _ANSIBLE_ARGS."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core before 2.19
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes

        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved
    else:
        with patch_module_args(args):
            yield


def _exit_code_of(main):
    """Run a module's ``main()``, which must end with exit_json or fail_json; return its exit code."""
    try:
        main()
    except SystemExit as exc:
        return exc.code
    raise AssertionError("the module returned without exit_json or fail_json")


def run_module(main, args: dict, capsys) -> dict:
    """Run a module's ``main()`` with ``args``; return its JSON result with ``failed`` set on failure."""
    capsys.readouterr()
    with module_args(args):
        code = _exit_code_of(main)
    out = capsys.readouterr().out
    result = json.loads(out)
    result["_stdout"] = out
    assert bool(result.get("failed")) == (code != 0), (code, result)
    return result


def is_plain_int(value) -> bool:
    """An int and not a bool (bool is a subclass of int; a true/false is not a number of the API)."""
    return isinstance(value, int) and not isinstance(value, bool)


def csv_bytes_of(text: str) -> bytes:
    return text.encode("utf-8")


def read_records_from_csv_text(text: str, restore: bool = False) -> list[dict]:
    from ansible_collections.certops.digicert.plugins.module_utils._records import iter_codes_from_csv

    return list(iter_codes_from_csv(io.StringIO(text, newline=""), restore_formulas=restore))
