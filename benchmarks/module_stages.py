# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the digicert_voucher_codes module process spends memory and CPU on one large order, stage by stage.

    .venv/bin/python benchmarks/module_stages.py [--codes 50000] [--dest-only]

Starts the simulator on 127.0.0.1 (stopped by its pid at the end), runs the module file on its own as
AnsiballZ would, and prints per stage: CPU seconds, resident memory at the end of the stage and the peak
within it (Linux VmHWM, reset between stages), against the size of the order's JSON body. Companion to
benchmarks/run.py; see docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "plugins" / "modules" / "digicert_voucher_codes.py"
ORDER_ID = 90000
API_KEY = "bench-key-0123456789abcdef"


def _status_kib(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


class Stages:
    """Marks the end of each stage; the peak RSS mark is reset after each so peaks are per stage."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, int, int]] = []
        self._cpu = time.process_time()

    def mark(self, label: str) -> None:
        now = time.process_time()
        self.rows.append((label, now - self._cpu, _status_kib("VmRSS"), _status_kib("VmHWM")))
        self._cpu = now
        # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")


def child(args_path: str, report_path: str) -> None:
    """Run the module in this process with marks around exit_json's stages, then write the marks."""
    stages = Stages()
    from ansible.module_utils import basic
    from ansible_collections.certops.digicert.plugins.module_utils import _api  # noqa: F401 - imported for the mark

    stages.mark("interpreter and imports")
    exit_json, record = basic.AnsibleModule.exit_json, basic.AnsibleModule._record_module_result
    remove_values = basic.remove_values
    scrubbing = False

    def marked_exit_json(self, **kwargs):
        nonlocal scrubbing
        stages.mark("task: fetch, parse, normalize, report")
        scrubbing = True
        exit_json(self, **kwargs)

    def marked_remove_values(value, no_log_strings):
        result = remove_values(value, no_log_strings)
        if scrubbing:
            stages.mark("exit_json: remove_values copy")
        return result

    def marked_record(self, result):
        record(self, result)
        stages.mark("exit_json: json.dumps and print")

    basic.AnsibleModule.exit_json = marked_exit_json
    basic.remove_values = marked_remove_values
    basic.AnsibleModule._record_module_result = marked_record
    sys.argv = [str(MODULE), args_path]
    try:
        runpy.run_path(str(MODULE), run_name="__main__")
    except SystemExit:
        pass
    finally:
        Path(report_path).write_text(json.dumps(stages.rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--codes", type=int, default=50_000, help="codes in the order (default 50000)")
    parser.add_argument("--dest-only", action="store_true", help="return_codes: false with dest")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if not Path("/proc/self/clear_refs").exists():
        parser.error("needs Linux /proc to read per-stage peak memory")

    spec_path = ROOT / "tests" / "simulator" / "control.py"
    sys.path.insert(0, str(spec_path.parent))
    from control import SimulatorProcess

    workdir = Path(tempfile.mkdtemp(prefix="certops-stages-"))
    try:
        link = workdir / "collections" / "ansible_collections" / "certops" / "digicert"
        link.parent.mkdir(parents=True)
        link.symlink_to(ROOT, target_is_directory=True)
        with SimulatorProcess(api_key=API_KEY, large_orders=[(ORDER_ID, args.codes)], start_timeout=120) as sim:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            request = urllib.request.Request(  # noqa: S310 - the simulator's own http://127.0.0.1 URL
                f"{sim.base_url}/voucher/{ORDER_ID}/download", headers={"X-DC-DEVKEY": API_KEY}
            )
            with opener.open(request, timeout=60) as response:
                body_bytes = len(response.read())
            module_args = {"voucher_order_id": [ORDER_ID], "api_url": sim.base_url, "api_key": API_KEY}
            if args.dest_only:
                module_args.update(return_codes=False, dest=str(workdir / "report.csv"))
            args_path, report_path = workdir / "args.json", workdir / "stages.json"
            args_path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
            env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
            env.update(PYTHONPATH=str(workdir / "collections"), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
            with open(workdir / "module-output.json", "wb") as output:
                subprocess.run(
                    [sys.executable, __file__, "--child", str(args_path), str(report_path)],
                    env=env,
                    stdout=output,
                    check=True,
                )
        rows = json.loads(report_path.read_text())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    mode = "dest only (return_codes: false)" if args.dest_only else "codes returned"
    print(f"module process, order of {args.codes} codes, {mode}; JSON body {body_bytes / 2**20:.1f} MiB")
    print(f"{'stage':<40} {'CPU s':>6} {'RSS at end':>11} {'peak in stage':>14} {'peak / body':>12}")
    for label, cpu, rss, peak in rows:
        print(f"{label:<40} {cpu:6.2f} {rss / 1024:7.1f} MiB {peak / 1024:10.1f} MiB {peak * 1024 / body_bytes:11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
