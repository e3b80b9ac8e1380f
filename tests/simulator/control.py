"""Start, query and stop the DigiCert simulator from Python tests or shell scripts (standard library only).

Python::

    from control import SimulatorProcess  # or tests.simulator.control, depending on sys.path

    with SimulatorProcess(latency_ms=20, large_orders=[(90001, 5000)]) as sim:
        sim.base_url      # http://127.0.0.1:PORT/services/v2
        sim.add_faults([{"order": 25252, "kind": "status:503", "times": 2}])
        sim.stats()["requests"]

Shell::

    python tests/simulator/control.py start --state-dir DIR [simulator options...]   # prints the base URL
    python tests/simulator/control.py stats --state-dir DIR
    python tests/simulator/control.py stop --state-dir DIR

``start`` leaves ``pid``, ``port``, ``base_url`` and ``simulator.log`` in DIR; ``stop`` ends the process whose id
is in ``DIR/pid`` (SIGTERM, then SIGKILL) after checking that it is a simulator, and is fine if it is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

SIMULATOR = Path(__file__).resolve().with_name("digicert_simulator.py")
DEFAULT_API_KEY = "sim-key-0123456789abcdef"
API_PATH = "/services/v2"


class SimulatorError(RuntimeError):
    """The simulator could not be started, reached or stopped."""


def _url_host(host):
    if host == "localhost":
        return "127.0.0.1"
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def _opener(ca_file=None):
    # No proxy handler: an http_proxy variable in the environment must never send loopback traffic elsewhere.
    handlers = [urllib.request.ProxyHandler({})]
    if ca_file:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
    return urllib.request.build_opener(*handlers)


def control_request(root_url, method, path, payload=None, ca_file=None, timeout=10.0):
    """Call a control endpoint (``/__simulator/...``) and return its decoded JSON answer."""
    if not root_url.startswith(("http://", "https://")):
        raise SimulatorError(f"not an http(s) URL: {root_url!r}")
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(root_url + path, data=data, method=method)  # noqa: S310 - scheme checked above
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _opener(ca_file).open(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise SimulatorError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SimulatorError(f"{method} {path}: {exc}") from None


def _is_simulator(pid):
    """True if PID runs digicert_simulator.py (and is not a zombie); True when /proc cannot tell."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    if stat.rpartition(")")[2].split()[:1] == ["Z"]:
        return False
    return b"digicert_simulator.py" in cmdline


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _is_simulator(pid) if Path("/proc").is_dir() else True


def stop_pid(pid, timeout=5.0):
    """SIGTERM the simulator PID, wait up to TIMEOUT seconds, then SIGKILL. Return False if it was not running."""
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


class SimulatorProcess:
    """The simulator as a child process; a context manager that always stops it by its pid."""

    def __init__(
        self,
        *,
        host="127.0.0.1",
        port=0,
        api_key=DEFAULT_API_KEY,
        lifetime=600.0,
        latency_ms=0,
        large_orders=(),
        tls_cert=None,
        tls_key=None,
        ca_file=None,
        enforce_rate_limit=False,
        request_log=None,
        extra_args=(),
        state_dir=None,
        start_timeout=10.0,
        detached=False,
    ):
        self.host = host
        self.requested_port = port
        self.api_key = api_key
        self.lifetime = lifetime
        self.latency_ms = latency_ms
        self.large_orders = [tuple(item) for item in large_orders]
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.ca_file = ca_file or tls_cert
        self.enforce_rate_limit = enforce_rate_limit
        self.request_log = request_log
        self.extra_args = list(extra_args)
        self.state_dir = Path(state_dir) if state_dir else None
        self.start_timeout = start_timeout
        self.detached = detached
        self._own_state_dir = False
        self._popen = None
        self.port = None
        self.pid = None

    # ---- life cycle

    def command(self):
        """The argv that starts the simulator (port and pid files in the state directory)."""
        argv = [
            sys.executable,
            str(SIMULATOR),
            "--host",
            self.host,
            "--port",
            str(self.requested_port),
            "--port-file",
            str(self.state_dir / "port"),
            "--pid-file",
            str(self.state_dir / "pid"),
            "--lifetime",
            str(self.lifetime),
            "--api-key",
            self.api_key,
            "--latency-ms",
            str(self.latency_ms),
        ]
        for order_id, count in self.large_orders:
            argv += ["--large-order", f"{order_id}:{count}"]
        if self.tls_cert:
            argv += ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)]
        if self.enforce_rate_limit:
            argv.append("--enforce-rate-limit")
        if self.request_log:
            argv += ["--request-log", str(self.request_log)]
        return argv + self.extra_args

    def start(self):
        if self._popen is not None:
            raise SimulatorError("already started")
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="digicert-sim-"))
            self._own_state_dir = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.state_dir / "port"
        port_file.unlink(missing_ok=True)
        log_path = self.state_dir / "simulator.log"
        with open(log_path, "ab") as log:
            # Output goes to a file, never a pipe: nobody reads a pipe during a long test and a full one would hang.
            self._popen = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.detached,
            )
        self.pid = self._popen.pid
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit():
                self.port = int(text)
                return self
            if self._popen.poll() is not None:
                break
            time.sleep(0.02)
        output = log_path.read_text(errors="replace")[-2000:]
        self.stop()
        raise SimulatorError(f"simulator did not start within {self.start_timeout} s; its output:\n{output}")

    def stop(self, timeout=5.0):
        """Stop the simulator by its pid: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL. Idempotent."""
        popen, self._popen = self._popen, None
        if popen is not None and popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(popen.pid, signal.SIGKILL)
                popen.wait(timeout)
        if self._own_state_dir and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self._own_state_dir = False

    @property
    def running(self):
        return self._popen is not None and self._popen.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # ---- addresses

    @property
    def scheme(self):
        return "https" if self.tls_cert else "http"

    @property
    def root_url(self):
        """``scheme://host:port``, the prefix of both the API and the control endpoints."""
        if self.port is None:
            raise SimulatorError("not started")
        return f"{self.scheme}://{_url_host(self.host)}:{self.port}"

    @property
    def base_url(self):
        return self.root_url + API_PATH

    # ---- control endpoints

    def control(self, method, path, payload=None):
        return control_request(self.root_url, method, path, payload, ca_file=self.ca_file)

    def stats(self):
        return self.control("GET", "/__simulator/stats")

    def reset(self, orders=False):
        """Zero the counters, drop queued faults and rate windows; ORDERS=True also restores the start data."""
        return self.control("POST", "/__simulator/reset", {"orders": bool(orders)})

    def add_faults(self, faults):
        return self.control("POST", "/__simulator/faults", {"faults": list(faults)})

    def pending_faults(self):
        return self.control("GET", "/__simulator/faults")["faults"]

    def set_order(self, order_id, codes, order=None):
        payload = {"order_id": order_id, "codes": list(codes)}
        if order is not None:
            payload["order"] = order
        return self.control("POST", "/__simulator/orders", payload)


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def _simulator_parser():
    spec = importlib.util.spec_from_file_location("_digicert_simulator_cli", SIMULATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


def _read(path):
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def cli_start(state_dir, rest, timeout):
    options = _simulator_parser().parse_args(rest)
    if options.port_file or options.pid_file:
        raise SimulatorError("--port-file and --pid-file are set by control.py in --state-dir")
    pid_text = _read(state_dir / "pid")
    if pid_text.isdigit() and _alive(int(pid_text)):
        raise SimulatorError(f"a simulator is already running with pid {pid_text} for {state_dir}")
    sim = SimulatorProcess(
        host=options.host,
        port=options.port,
        api_key=options.api_key,
        lifetime=options.lifetime,
        latency_ms=options.latency_ms,
        large_orders=options.large_order,
        tls_cert=options.tls_cert and os.path.abspath(options.tls_cert),
        tls_key=options.tls_key and os.path.abspath(options.tls_key),
        enforce_rate_limit=options.enforce_rate_limit,
        request_log=options.request_log and os.path.abspath(options.request_log),
        extra_args=["--verbose"] if options.verbose else [],
        state_dir=state_dir,
        start_timeout=timeout,
        detached=True,
    )
    sim.start()
    (state_dir / "base_url").write_text(sim.base_url + "\n")
    if sim.ca_file:
        (state_dir / "ca_file").write_text(str(sim.ca_file) + "\n")
    print(sim.base_url)
    return 0


def cli_stop(state_dir, timeout):
    pid_text = _read(state_dir / "pid")
    if not pid_text.isdigit():
        print("simulator not running (no pid file)")
        return 0
    stopped = stop_pid(int(pid_text), timeout)
    for name in ("pid", "port", "base_url", "ca_file"):
        (state_dir / name).unlink(missing_ok=True)
    print(f"simulator {pid_text} stopped" if stopped else f"simulator {pid_text} was not running")
    return 0


def cli_control(state_dir, method, path, payload=None):
    base_url = _read(state_dir / "base_url")
    if not base_url:
        raise SimulatorError(f"no running simulator recorded in {state_dir}")
    answer = control_request(base_url[: -len(API_PATH)], method, path, payload, ca_file=_read(state_dir / "ca_file"))
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Start, query and stop the DigiCert simulator.", allow_abbrev=False)
    parser.add_argument("action", choices=("start", "stop", "stats", "reset"))
    parser.add_argument("--state-dir", required=True, type=Path, help="folder for pid, port and log files")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for start or stop")
    args, rest = parser.parse_known_args(argv)
    if rest and args.action != "start":
        parser.error(f"unexpected arguments: {' '.join(rest)}")
    try:
        if args.action == "start":
            args.state_dir.mkdir(parents=True, exist_ok=True)
            return cli_start(args.state_dir, rest, args.timeout)
        if args.action == "stop":
            return cli_stop(args.state_dir, args.timeout)
        if args.action == "stats":
            return cli_control(args.state_dir, "GET", "/__simulator/stats")
        return cli_control(args.state_dir, "POST", "/__simulator/reset", {})
    except SimulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
