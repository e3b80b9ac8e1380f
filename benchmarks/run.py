# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-by-side benchmark: certops.digicert against the ``ansible.builtin.uri`` loop users write today.

``make bench`` runs this file with the repository's venv (ansible-core and requests installed); nothing
else is needed. It starts the DigiCert simulator on 127.0.0.1 with 150 ms of latency per answer, runs every
scenario a few times round-robin, and prints the median of each, net of an empty playbook's run, the
ratios, and PASS/FAIL per target. ``--strict`` turns a failed target into exit status 1.

The simulator is always stopped by its pid at the end, and the working folder (a private collections
tree, the inventory, reports) is removed unless ``--keep-workdir`` is given. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
MODULE = ROOT / "plugins" / "modules" / "digicert_voucher_codes.py"
CONTROL = ROOT / "tests" / "simulator" / "control.py"
API_KEY = "bench-key-0123456789abcdef"

LATENCY_MS = 150
SMALL_ORDER_IDS = list(range(80001, 80031))  # 30 orders ...
SMALL_ORDER_CODES = 5  # ... of a few codes each
LARGE_ORDER_ID = 90000
LARGE_ORDER_CODES = 50_000
# Orders of the simulator's built-in data set with 1, 2 and 6 codes.
LOOKUP_ORDER_IDS = [25252, 25256, 25260]
LOOKUP_CODES = 9
FLEET_HOSTS = 60
FLEET_FORKS = 20
# No single playbook of this bench comes near this; it only stops a hung run.
RUN_TIMEOUT = 300.0
NOISY_SPREAD = 0.25

# Targets of the performance issue, as ratios against the uri way measured in the same run.
MAX_RATIO_30_ORDERS = 0.10
MAX_RATIO_LARGE_FACTS = 0.25
MAX_SECONDS_LARGE_DEST = 2.0
MAX_RSS_PER_BODY_DEST = 2.0
MAX_RSS_PER_BODY_CODES = 6.0


class BenchError(RuntimeError):
    """A scenario did not do what it claims, so its time would mean nothing."""


# --------------------------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    playbook: str
    extra_vars: dict
    baseline: str | None = None  # key of the empty run this one is shown net of
    forks: int = 1
    expected_requests: int | None = None
    dest: Path | None = None  # removed before every run so each one writes the whole report
    seconds: list[float] = field(default_factory=list)
    peak_rss_kib: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    max_concurrent: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def scenarios(workdir: Path) -> list[Scenario]:
    small = {"order_ids": SMALL_ORDER_IDS, "expected_count": len(SMALL_ORDER_IDS) * SMALL_ORDER_CODES}
    large = {"order_ids": [LARGE_ORDER_ID], "expected_count": LARGE_ORDER_CODES}
    report = workdir / "order-90000.csv"
    fleet = {"bench_hosts": "fleet", "order_ids": LOOKUP_ORDER_IDS, "expected_count": LOOKUP_CODES}
    n_small = len(SMALL_ORDER_IDS)
    return [
        Scenario("empty", "empty playbook, 1 host (baseline)", "empty.yml", {}, expected_requests=0),
        Scenario("uri_small", f"uri loop, {n_small} orders", "uri_loop.yml", small, "empty", 1, n_small),
        Scenario("module_small", f"module, {n_small} orders", "module.yml", small, "empty", 1, n_small),
        Scenario("uri_large", "uri loop, 50,000 codes", "uri_loop.yml", large, "empty", 1, 1),
        Scenario("module_large", "module, 50,000 codes returned", "module.yml", large, "empty", 1, 1),
        Scenario(
            "module_large_dest",
            "module, 50,000 codes, dest only",
            "module.yml",
            {**large, "return_codes": False, "dest": str(report)},
            "empty",
            1,
            1,
            dest=report,
        ),
        Scenario(
            "empty_fleet",
            f"empty playbook, {FLEET_HOSTS} hosts (baseline)",
            "empty.yml",
            {"bench_hosts": "fleet"},
            forks=FLEET_FORKS,
            expected_requests=0,
        ),
        Scenario(
            "lookup_cache",
            f"lookup, {FLEET_HOSTS} hosts, cache on",
            "lookup.yml",
            {**fleet, "lookup_cache": True},
            "empty_fleet",
            FLEET_FORKS,
            len(LOOKUP_ORDER_IDS),
        ),
        Scenario(
            "lookup_nocache",
            f"lookup, {FLEET_HOSTS} hosts, cache off",
            "lookup.yml",
            {**fleet, "lookup_cache": False},
            "empty_fleet",
            FLEET_FORKS,
            FLEET_HOSTS * len(LOOKUP_ORDER_IDS),
        ),
    ]


# --------------------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------------------

# Runs one command as its only child and writes its wall time, peak RSS, exit status and CPU time to a file.
# Why a separate small parent: Linux starts a child's ru_maxrss at its parent's RSS at fork time, so a child
# forked by this bench process (which holds earlier results) would report the bench's memory, not its own.
# ru_maxrss from wait4 covers the child and every descendant it waited for (workers, module processes).
LAUNCHER = """
import os, signal, sys, time
out, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
# An interrupt is for the command, which cleans up its own workers; this parent only waits for it.
signal.signal(signal.SIGINT, signal.SIG_IGN)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
with open(out, "w") as handle:
    cpu = usage.ru_utime + usage.ru_stime
    handle.write(f"{elapsed} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)} {cpu}")
"""


def _terminate_on_sigterm(signum, _frame):
    # Turn SIGTERM into an exception so the finally blocks stop the simulator and any running child.
    raise SystemExit(128 + signum)


def run_measured(argv: list[str], env: dict, cwd: Path, log_path: Path) -> tuple[float, int, int, float]:
    """Run ARGV; return (wall seconds, peak RSS in KiB, exit status, CPU seconds). Output goes to LOG_PATH."""
    measured = log_path.with_suffix(".measured")
    with open(log_path, "wb") as log:
        # Own session, so that the terminal's Ctrl-C reaches the bench first and _stop ends the run in order.
        child = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(measured), *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        try:
            child.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(child)
            raise BenchError(f"{argv[-1]} did not finish within {RUN_TIMEOUT:.0f} s; see {log_path}") from None
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): the run is in its own session, so it has to be ended here.
            _stop(child)
            raise
    try:
        seconds, peak_kib, status, cpu = measured.read_text().split()
    except (OSError, ValueError):
        raise BenchError(f"no measurement for {argv[-1]}; see {log_path}") from None
    return float(seconds), int(peak_kib), int(status), float(cpu)


def _stop(child: subprocess.Popen) -> None:
    """End one measured run: an interrupt first, so ansible-playbook stops its workers, then SIGKILL by pid."""
    if child.poll() is not None:
        return
    # ansible-playbook's workers start sessions of their own, so the process group does not reach them.
    family = _descendants(child.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(10)
    for pid, started in family:
        # Only a process that is still the one seen above: a pid may have been reused meanwhile.
        if _process_table().get(pid, (None, None))[1] == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    if child.poll() is None:
        child.kill()
    child.wait()


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time in clock ticks), from /proc; empty where there is no /proc."""
    table = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = entry.read_text().rpartition(")")[2].split()
            table[int(entry.parent.name)] = (int(fields[1]), fields[19])
    return table


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, start time) of every process below ROOT."""
    table = _process_table()
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _started) in table.items() if ppid == parent]
        found += [(pid, table[pid][1]) for pid in children]
        frontier += children
    return found


def log_excerpt(path: Path, lines: int = 25) -> str:
    """The failure lines of an ansible-playbook log (a recap of 60 hosts says nothing), else its end."""
    text = path.read_text(errors="replace").splitlines()
    failures = [line for line in text if line.startswith(("fatal:", "failed:", "ERROR!", "[ERROR]"))]
    return "\n".join((failures or text)[-lines:])


# --------------------------------------------------------------------------------------------------------------
# The bench
# --------------------------------------------------------------------------------------------------------------


def load_control():
    spec = importlib.util.spec_from_file_location("certops_bench_simulator_control", CONTROL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child_environment(workdir: Path) -> dict:
    """A clean environment: no proxy (loopback must stay loopback), no user Ansible settings, no real key."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().endswith("_PROXY")
        and not name.startswith(("ANSIBLE_", "DIGICERT_"))
        and name not in ("PYTHONPATH", "PYTHONSTARTUP")
    }
    config = workdir / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(
        NO_PROXY="127.0.0.1,localhost,::1",
        no_proxy="127.0.0.1,localhost,::1",
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(workdir / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(workdir / "ansible-tmp"),
        ANSIBLE_REMOTE_TEMP=str(workdir / "ansible-remote-tmp"),
        ANSIBLE_COLLECTIONS_PATH=str(workdir / "collections"),
        # Only the collection of this working tree, never a copy installed in site-packages.
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        DIGICERT_CACHE_DIR=str(workdir / "lookup-cache"),
        PYTHONUNBUFFERED="1",
    )
    return env


def collection_tree(workdir: Path) -> None:
    link = workdir / "collections" / "ansible_collections" / "certops" / "digicert"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT, target_is_directory=True)


def write_inventory(workdir: Path) -> Path:
    fleet = {f"h{number:02d}": None for number in range(1, FLEET_HOSTS + 1)}
    inventory = {
        "all": {
            "hosts": {"localhost": None},
            "children": {"fleet": {"hosts": fleet}},
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    path = workdir / "inventory.yml"
    path.write_text(json.dumps(inventory, indent=1))  # JSON is YAML
    return path


class Bench:
    def __init__(self, workdir: Path, sim, ansible_playbook: Path, repeats: int) -> None:
        self.workdir = workdir
        self.sim = sim
        self.ansible_playbook = ansible_playbook
        self.repeats = repeats
        self.env = child_environment(workdir)
        self.inventory = write_inventory(workdir)
        self.logs = workdir / "logs"
        self.logs.mkdir()
        self.runs = 0

    def connection_vars(self) -> dict:
        return {"digicert_api_url": self.sim.base_url, "digicert_api_key": API_KEY}

    def playbook(self, scenario: Scenario, label: str) -> tuple[float, int, dict, float]:
        self.runs += 1
        vars_file = self.workdir / f"vars-{scenario.key}.json"
        vars_file.write_text(json.dumps({**self.connection_vars(), **scenario.extra_vars}))
        if scenario.dest is not None:
            scenario.dest.unlink(missing_ok=True)
        argv = [str(self.ansible_playbook), "-i", str(self.inventory), "-f", str(scenario.forks)]
        argv += ["-e", f"@{vars_file}", str(PLAYBOOKS / scenario.playbook)]
        log = self.logs / f"{self.runs:03d}-{scenario.key}.log"
        self.sim.reset()
        seconds, peak_kib, status, cpu = run_measured(argv, self.env, self.workdir, log)
        stats = self.sim.stats()
        if status != 0:
            raise BenchError(f"{label}: ansible-playbook exited with {status}; end of {log}:\n{log_excerpt(log)}")
        if stats["in_flight"]:
            raise BenchError(f"{label}: {stats['in_flight']} request(s) still in flight after the run")
        return seconds, peak_kib, stats, cpu

    def measure(self, plan: list[Scenario]) -> None:
        # Round-robin, so a slow minute on a shared machine spreads over all scenarios instead of one.
        for round_number in range(1, self.repeats + 1):
            for scenario in plan:
                label = f"[{round_number}/{self.repeats}] {scenario.label}"
                seconds, peak_kib, stats, cpu = self.playbook(scenario, label)
                scenario.seconds.append(seconds)
                scenario.cpu_seconds.append(cpu)
                scenario.peak_rss_kib.append(peak_kib)
                scenario.requests.append(stats["requests"])
                scenario.max_concurrent.append(stats["max_concurrent"])
                print(f"  {label:<52} {seconds:7.2f} s  {stats['requests']:4d} requests", flush=True)

    def module_direct(self, name: str, module_args: dict) -> tuple[float, int, dict, float]:
        """Run the module file on its own, as AnsiballZ would; return (seconds, peak KiB, result, CPU seconds)."""
        self.runs += 1
        args_file = self.workdir / f"args-{name}.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
        env = dict(self.env, PYTHONPATH=str(self.workdir / "collections"))
        log = self.logs / f"{self.runs:03d}-direct-{name}.log"
        argv = [sys.executable, str(MODULE), str(args_file)]
        seconds, peak_kib, status, cpu = run_measured(argv, env, self.workdir, log)
        output = log.read_text(errors="replace")
        # The module prints its result as the last line; anything before it would be stray output.
        try:
            result = json.loads(output.strip().splitlines()[-1])
        except (IndexError, ValueError):
            result = {"failed": True, "msg": "no JSON result"}
        if status != 0 or result.get("failed"):
            raise BenchError(f"module run {name} failed (exit {status}): {str(result.get('msg'))[:500]}")
        return seconds, peak_kib, result, cpu

    def body_size(self, order_id: int, accept: str) -> int:
        request = urllib.request.Request(  # noqa: S310 - the simulator's own http://127.0.0.1 URL
            f"{self.sim.base_url}/voucher/{order_id}/download", headers={"X-DC-DEVKEY": API_KEY, "Accept": accept}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=60) as response:
            return len(response.read())


def measure_memory(bench: Bench, repeats: int) -> dict:
    """Peak RSS of the module process alone for the large order, against the JSON body's size."""
    connection = {"api_url": bench.sim.base_url, "api_key": API_KEY}
    report = bench.workdir / "direct-order-90000.csv"
    cases = {
        "tiny": {**connection, "voucher_order_id": [25252]},
        "codes": {**connection, "voucher_order_id": [LARGE_ORDER_ID]},
        "dest": {**connection, "voucher_order_id": [LARGE_ORDER_ID], "return_codes": False, "dest": str(report)},
    }
    expected = {"tiny": 1, "codes": LARGE_ORDER_CODES, "dest": LARGE_ORDER_CODES}
    measured: dict = {name: {"seconds": [], "peak_rss_kib": [], "cpu_seconds": []} for name in cases}
    for round_number in range(1, repeats + 1):
        for name, module_args in cases.items():
            report.unlink(missing_ok=True)
            seconds, peak_kib, result, cpu = bench.module_direct(name, module_args)
            if result.get("count") != expected[name]:
                raise BenchError(f"module run {name}: {result.get('count')} codes, expected {expected[name]}")
            measured[name]["seconds"].append(seconds)
            measured[name]["peak_rss_kib"].append(peak_kib)
            measured[name]["cpu_seconds"].append(cpu)
            print(
                f"  [{round_number}/{repeats}] module process alone, {name:<5} {seconds:7.2f} s "
                f"{peak_kib / 1024:8.1f} MiB peak RSS",
                flush=True,
            )
    return measured


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def machine() -> dict:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 0
    try:
        from ansible.release import __version__ as ansible_version
    except ImportError:
        ansible_version = "not importable"
    try:
        import requests

        requests_version = requests.__version__
    except ImportError:
        requests_version = "not installed"
    return {
        "collection": collection_revision(),
        "nproc": cpus,
        "cpu_model": cpu_model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible_core": ansible_version,
        "requests": requests_version,
        "load_average_at_start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def collection_revision() -> str:
    """The commit measured, and whether plugins/ had uncommitted changes (results are only as good as that)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "plugins"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head} with uncommitted changes in plugins/" if dirty else head


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def print_table(plan: list[Scenario], by_key: dict[str, Scenario]) -> None:
    print()
    columns = ("median", "min", "max", "net", "CPU", "requests", "parallel", "peak RSS")
    widths = (7, 6, 7, 7, 6, 8, 8, 9)
    header = f"{'scenario':<38}" + "".join(f" {name:>{width}}" for name, width in zip(columns, widths, strict=True))
    print(header)
    print("-" * len(header))
    for scenario in plan:
        net = "" if scenario.baseline is None else f"{scenario.median - by_key[scenario.baseline].median:7.2f}"
        requests = statistics.median(scenario.requests)
        mark = "" if scenario.expected_requests in (None, requests) else "!"
        spread = (max(scenario.seconds) - min(scenario.seconds)) / scenario.median if scenario.median else 0.0
        noisy = "~" if spread > NOISY_SPREAD else " "
        print(
            f"{scenario.label:<38} {scenario.median:7.2f} {min(scenario.seconds):6.2f}"
            f" {max(scenario.seconds):6.2f}{noisy}"
            f" {net:>7} {statistics.median(scenario.cpu_seconds):6.2f} {requests:>7.0f}{mark:1}"
            f" {max(scenario.max_concurrent):>8} "
            f"{mib(statistics.median(scenario.peak_rss_kib)):>9}"
        )
    print("wall times in seconds; net = median minus the median of its empty playbook; CPU = median CPU seconds")
    print("of ansible-playbook and all its processes; parallel = most requests the simulator served at once;")
    print("peak RSS = largest process of the run (controller, worker or module);")
    print(f"~ = runs spread by more than {NOISY_SPREAD:.0%} of the median (a busy machine);", end=" ")
    print("! = not the expected number of requests")


def net_seconds(by_key: dict[str, Scenario], key: str) -> float:
    scenario = by_key[key]
    return scenario.median - by_key[scenario.baseline].median


def evaluate(by_key: dict[str, Scenario], memory: dict, body_json: int) -> tuple[list[dict], list[dict]]:
    def timing_target(name: str, numerator: str, denominator: str | None, limit: float) -> dict:
        top = net_seconds(by_key, numerator)
        bottom = net_seconds(by_key, denominator) if denominator else 1.0
        target = {"name": name, "limit": limit, "unit": "x" if denominator else "s"}
        target["detail"] = f"{top:.2f} s / {bottom:.2f} s" if denominator else f"{top:.2f} s"
        # A net time at or below zero means the empty run was slower than the scenario: too noisy to judge.
        target["value"] = top / bottom if bottom > 0 else float("inf")
        target["unsure"] = top <= 0 or bottom <= 0
        target["passed"] = not target["unsure"] and target["value"] <= limit
        return target

    def memory_target(name: str, case: str, limit: float) -> dict:
        peak = statistics.median(memory[case]["peak_rss_kib"]) * 1024
        return {
            "name": name,
            "limit": limit,
            "unit": "x",
            "detail": f"{peak / 2**20:.1f} MiB / {body_json / 2**20:.1f} MiB",
            "value": peak / body_json,
            "unsure": False,
            "passed": peak / body_json < limit,
        }

    n_small = len(SMALL_ORDER_IDS)
    targets = [
        timing_target(f"{n_small} orders: module net / uri net", "module_small", "uri_small", MAX_RATIO_30_ORDERS),
        timing_target("50,000 codes: module net / uri net", "module_large", "uri_large", MAX_RATIO_LARGE_FACTS),
        timing_target("50,000 codes to dest only: module net", "module_large_dest", None, MAX_SECONDS_LARGE_DEST),
        memory_target("module peak RSS, dest only / JSON body", "dest", MAX_RSS_PER_BODY_DEST),
        memory_target("module peak RSS, codes returned / JSON body", "codes", MAX_RSS_PER_BODY_CODES),
    ]
    checks = []
    for scenario in by_key.values():
        if scenario.expected_requests is not None:
            got = sorted(set(scenario.requests))
            checks.append(
                {
                    "name": f"requests per run, {scenario.label}",
                    "expected": scenario.expected_requests,
                    "got": got,
                    "passed": got == [scenario.expected_requests],
                }
            )
    return targets, checks


def print_targets(targets: list[dict], checks: list[dict], by_key: dict[str, Scenario]) -> None:
    print("\nratios and targets")
    for target in targets:
        verdict = "PASS" if target["passed"] else ("NOISY" if target["unsure"] else "FAIL")
        value = f"{target['value']:.3f}" if target["unit"] == "x" else f"{target['value']:.2f} s"
        limit = f"{target['limit']:g}" if target["unit"] == "x" else f"{target['limit']:g} s"
        print(f"  {verdict:<5} {target['name']:<46} {value:>8}  ({target['detail']}; target {limit})")
    uri_net, module_net = net_seconds(by_key, "uri_small"), net_seconds(by_key, "module_small")
    speedup = f"{uri_net / module_net:.0f}x" if module_net > 0 else "n/a"
    print(
        f"  info  uri loop: {uri_net / len(SMALL_ORDER_IDS):.2f} s net per order; module {speedup} faster for "
        f"{len(SMALL_ORDER_IDS)} orders"
    )
    uri_net, module_net = net_seconds(by_key, "uri_large"), net_seconds(by_key, "module_large")
    speedup = f"{uri_net / module_net:.1f}x" if module_net > 0 else "n/a"
    print(f"  info  50,000 codes: module {speedup} faster than uri + set_fact")
    cached, uncached = by_key["lookup_cache"], by_key["lookup_nocache"]
    print(
        f"  info  lookup over {FLEET_HOSTS} hosts, {FLEET_FORKS} forks: {statistics.median(cached.requests):.0f} "
        f"requests with the cache, {statistics.median(uncached.requests):.0f} without "
        f"(DigiCert allows 100 per 5 s per key)"
    )
    failed = [check for check in checks if not check["passed"]]
    for check in failed:
        print(f"  FAIL  {check['name']}: expected {check['expected']}, got {check['got']}")
    if not failed:
        print(f"  PASS  every run sent the expected number of requests ({len(checks)} scenarios)")
    if any(target["unsure"] for target in targets):
        print("  NOISY means an empty playbook ran slower than the scenario: the machine was busy; run again.")


def print_memory(memory: dict, body_json: int, body_csv: int) -> None:
    print(f"\nmodule process alone (python {MODULE.relative_to(ROOT)} args.json), median peak RSS")
    print(
        f"  JSON body of order {LARGE_ORDER_ID}: {body_json / 2**20:.1f} MiB ({body_json} bytes); "
        f"CSV body: {body_csv / 2**20:.1f} MiB"
    )
    labels = {
        "tiny": "1 code (interpreter + imports)",
        "codes": "50,000 codes returned",
        "dest": "50,000 codes, dest only",
    }
    for name, label in labels.items():
        peak = statistics.median(memory[name]["peak_rss_kib"]) * 1024
        seconds = statistics.median(memory[name]["seconds"])
        cpu = statistics.median(memory[name]["cpu_seconds"])
        print(
            f"  {label:<32} {peak / 2**20:7.1f} MiB = {peak / body_json:5.2f} x body"
            f"   {seconds:6.2f} s wall {cpu:6.2f} s CPU"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scenario; the median is reported")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target or check fails")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the working folder (logs) for a look")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
    if not ansible_playbook.exists():
        parser.error(f"no ansible-playbook next to {sys.executable}; run with the venv's python (make bench)")
    try:
        import requests  # noqa: F401 - the module needs it on the host that runs it, this one
    except ImportError:
        parser.error(f"{sys.executable} has no requests library; run with the venv's python (make bench)")

    signal.signal(signal.SIGTERM, _terminate_on_sigterm)
    info = machine()
    print(f"certops.digicert benchmark: {args.repeats} run(s) per scenario, simulator latency {LATENCY_MS} ms")
    print(
        f"machine: {info['nproc']} CPU(s), {info['cpu_model']}, {info['memory']} RAM, Linux {info['kernel']}, "
        f"load {info['load_average_at_start']}"
    )
    print(f"software: Python {info['python']}, ansible-core {info['ansible_core']}, requests {info['requests']}")
    print(f"collection: {info['collection']}")

    control = load_control()
    workdir = Path(tempfile.mkdtemp(prefix="certops-bench-"))
    large_orders = [(order_id, SMALL_ORDER_CODES) for order_id in SMALL_ORDER_IDS]
    large_orders.append((LARGE_ORDER_ID, LARGE_ORDER_CODES))
    sim = control.SimulatorProcess(
        api_key=API_KEY,
        latency_ms=LATENCY_MS,
        large_orders=large_orders,
        lifetime=1800.0,  # a backstop only: it is stopped by its pid below
        state_dir=workdir / "simulator",
        start_timeout=120.0,
    )
    started = time.monotonic()
    try:
        collection_tree(workdir)
        sim.start()
        print(f"simulator pid {sim.pid} at {sim.base_url}; working folder {workdir}\n")
        bench = Bench(workdir, sim, ansible_playbook, args.repeats)
        plan = scenarios(workdir)
        by_key = {scenario.key: scenario for scenario in plan}
        # One unmeasured pass: byte-compiles the collection and warms the page cache for every scenario alike.
        bench.playbook(by_key["empty"], "warm-up")
        bench.playbook(by_key["module_small"], "warm-up")
        bench.measure(plan)
        memory = measure_memory(bench, args.repeats)
        body_json = bench.body_size(LARGE_ORDER_ID, "application/json")
        body_csv = bench.body_size(LARGE_ORDER_ID, "text/csv")
    except BenchError as exc:
        print(f"\nbenchmark broken: {exc}", file=sys.stderr)
        args.keep_workdir = True
        return 2
    finally:
        sim.stop()
        if args.keep_workdir:
            print(f"working folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print_table(plan, by_key)
    print_memory(memory, body_json, body_csv)
    targets, checks = evaluate(by_key, memory, body_json)
    print_targets(targets, checks, by_key)
    failed = [t["name"] for t in targets if not t["passed"]] + [c["name"] for c in checks if not c["passed"]]
    print(
        f"\n{sum(1 for t in targets if t['passed'])}/{len(targets)} targets met; "
        f"bench took {time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )

    if args.json:
        document = {
            "machine": info,
            "repeats": args.repeats,
            "latency_ms": LATENCY_MS,
            "scenarios": {
                s.key: {
                    "label": s.label,
                    "seconds": s.seconds,
                    "median": s.median,
                    "net": None if s.baseline is None else s.median - by_key[s.baseline].median,
                    "requests": s.requests,
                    "max_concurrent": s.max_concurrent,
                    "peak_rss_kib": s.peak_rss_kib,
                    "cpu_seconds": s.cpu_seconds,
                }
                for s in plan
            },
            "module_process": memory,
            "body_bytes": {"json": body_json, "csv": body_csv},
            "targets": targets,
            "checks": checks,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    if failed and args.strict:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
