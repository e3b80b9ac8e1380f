"""Shared set-up for the unit tests of plugins/.

* Makes ``ansible_collections.certops.digicert`` importable from ``build/collections`` (a symlink tree to
  the repository) through Ansible's own collection loader, so module_utils imports and
  ``lookup_loader.get("certops.digicert....")`` see the same modules.
* Starts one DigiCert simulator on 127.0.0.1 for the whole session and stops it by its pid at the end.
* Clears proxy and DIGICERT_* variables so no request can leave loopback or pick up a real key.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

PLUGINS_TESTS = Path(__file__).resolve().parent
REPO = PLUGINS_TESTS.parents[2]
COLLECTIONS = REPO / "build" / "collections"


def _ensure_collection_tree() -> None:
    link = COLLECTIONS / "ansible_collections" / "certops" / "digicert"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(REPO, target_is_directory=True)
        except FileExistsError:  # another test run created it at the same moment
            pass
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    if str(PLUGINS_TESTS) not in sys.path:
        sys.path.insert(0, str(PLUGINS_TESTS))


def _install_collection_finder() -> None:
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if AnsibleCollectionConfig.collection_finder is None:
        _AnsibleCollectionFinder(paths=[str(COLLECTIONS)], scan_sys_paths=False)._install()


# Loopback only: a proxy variable would carry test traffic (and the test key) to another host.
for _name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_name, None)
for _name in ("DIGICERT_API_KEY", "DIGICERT_API_URL", "DIGICERT_CACHE", "DIGICERT_CACHE_DIR"):
    os.environ.pop(_name, None)

_ensure_collection_tree()
_install_collection_finder()

import certops_unit_support as support  # noqa: E402  (needs the sys.path entries above)


@pytest.fixture(autouse=True)
def _no_digicert_environment(monkeypatch):
    """Each test starts without DIGICERT_* variables; tests that want them set them with monkeypatch."""
    for name in ("DIGICERT_API_KEY", "DIGICERT_API_URL", "DIGICERT_CACHE", "DIGICERT_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def digicert_simulator_process(tmp_path_factory):
    control = support.simulator_control()
    state_dir = tmp_path_factory.mktemp("simulator")
    sim = control.SimulatorProcess(
        request_log=state_dir / "requests.jsonl",
        large_orders=[(support.LARGE_ORDER_ID, support.LARGE_ORDER_SIZE)],
        state_dir=state_dir / "state",
        lifetime=900,
    )
    sim.start()
    pid = sim.pid
    try:
        yield sim
    finally:
        sim.stop()
        assert not support.pid_alive(pid), f"simulator pid {pid} still running after stop()"


class SimulatorHandle:
    """The session simulator, reset for one test, with the request log lines of this test only."""

    def __init__(self, process) -> None:
        self.process = process
        self.base_url = process.base_url
        self.root_url = process.root_url
        self.api_key = process.api_key
        self.pid = process.pid
        self._log_path = Path(process.request_log)
        self._log_offset = self._log_path.stat().st_size if self._log_path.exists() else 0

    def stats(self) -> dict:
        return self.process.stats()

    def add_faults(self, faults) -> dict:
        return self.process.add_faults(faults)

    def set_order(self, order_id, codes) -> dict:
        return self.process.set_order(order_id, codes)

    def requests(self) -> list[dict]:
        if not self._log_path.exists():
            return []
        with open(self._log_path, encoding="utf-8") as handle:
            handle.seek(self._log_offset)
            return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture
def digicert_sim(digicert_simulator_process):
    # Named apart from tests/conftest.py's `sim` so that fixture keeps its meaning for other tests here.
    digicert_simulator_process.reset(orders=True)
    return SimulatorHandle(digicert_simulator_process)
