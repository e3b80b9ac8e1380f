"""Fixtures shared by every pytest suite of the collection.

- ``collection_root``: the repository root, which is also the collection root.
- ``collections_path``: ``build/collections``, holding ``ansible_collections/certops/digicert`` as a
  symlink to the repository, ready for ``ANSIBLE_COLLECTIONS_PATH``.
- Integration suites run ``ansible-playbook`` through ``tests/integration/conftest.py``.
- ``simulator`` (one per session) and ``sim`` (the same one, reset before each test): the
  DigiCert simulator of ``tests/simulator``, imported only when a test asks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parent.parent
COLLECTION_NAMESPACE = "certops"
COLLECTION_NAME = "digicert"
BUILD_COLLECTIONS = COLLECTION_ROOT / "build" / "collections"


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
