"""Unit tests of plugins/module_utils/_cache.py: the per-run, cross-process cache of voucher codes."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import time

import certops_unit_support as support
import pytest
from ansible_collections.certops.digicert.plugins.module_utils import _cache
from ansible_collections.certops.digicert.plugins.module_utils._cache import CacheError, CodesCache, current_run_id

from tests import documented_samples as samples

URL = "http://127.0.0.1:9/services/v2"
KEY = "cache-test-key-5f0c2a9e1b7d4c3a"
RUN = "run-1"


class CountingFetch:
    def __init__(self, codes_by_order=None) -> None:
        self.calls: list[int] = []
        self.codes_by_order = codes_by_order or {25252: samples.TYPED_ORDER_25252, 25256: samples.TYPED_ORDER_25256}

    def __call__(self, order_id: int) -> list[dict]:
        self.calls.append(order_id)
        return [dict(code) for code in self.codes_by_order[order_id]]


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def make_cache(directory, **overrides) -> CodesCache:
    values = {"api_url": URL, "api_key": KEY, "ttl": 600.0, "run_id": RUN}
    values.update(overrides)
    return CodesCache(str(directory), **values)


def test_one_fetch_for_many_calls(tmp_path):
    fetch = CountingFetch()
    cache = make_cache(tmp_path / "cache")
    results = [cache.get_or_fetch(25252, fetch) for _call in range(5)]
    assert fetch.calls == [25252]
    assert results == [samples.TYPED_ORDER_25252] * 5
    # Another instance in the same run (another fork, another task) reads the same entry.
    assert make_cache(tmp_path / "cache").get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert fetch.calls == [25252]


def test_all_misses_are_fetched_in_one_call_and_hits_are_not_fetched(tmp_path):
    single = CountingFetch()
    batches: list[list[int]] = []

    def fetch_many(order_ids):
        batches.append(list(order_ids))
        return [single(order_id) for order_id in order_ids]

    cache = make_cache(tmp_path)
    cache.get_or_fetch(25256, single)
    # 25256 is cached; 25252 is missing and asked for twice: one batch with 25252 once.
    results = cache.get_or_fetch_many([25252, 25256, 25252], fetch_many)
    assert batches == [[25252]]
    assert single.calls == [25256, 25252]
    assert results == [samples.TYPED_ORDER_25252, samples.TYPED_ORDER_25256, samples.TYPED_ORDER_25252]
    # Everything is cached now: no batch at all.
    assert cache.get_or_fetch_many([25256, 25252], fetch_many) == [samples.TYPED_ORDER_25256, samples.TYPED_ORDER_25252]
    assert batches == [[25252]]


def test_cached_records_keep_their_types(tmp_path):
    cache = make_cache(tmp_path)
    cache.get_or_fetch(25252, CountingFetch())
    again = cache.get_or_fetch(25252, CountingFetch())
    assert again == samples.TYPED_ORDER_25252
    assert support.is_plain_int(again[0]["certificate_order_id"])
    assert again[0]["order_valid_from"] is None


@pytest.mark.parametrize(
    "other",
    [
        {"api_key": "another-key-0000000000000000"},
        {"api_url": "http://127.0.0.2:9/services/v2"},
        {"run_id": "run-2"},
    ],
    ids=["key", "url", "run"],
)
def test_separate_entries_per_key_url_and_run(tmp_path, other):
    fetch = CountingFetch()
    make_cache(tmp_path).get_or_fetch(25252, fetch)
    make_cache(tmp_path, **other).get_or_fetch(25252, fetch)
    assert fetch.calls == [25252, 25252]


def test_separate_entries_per_order(tmp_path):
    fetch = CountingFetch()
    cache = make_cache(tmp_path)
    assert cache.get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert cache.get_or_fetch(25256, fetch) == samples.TYPED_ORDER_25256
    assert cache.get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert fetch.calls == [25252, 25256]


def test_trailing_slash_of_the_url_does_not_split_the_cache(tmp_path):
    fetch = CountingFetch()
    make_cache(tmp_path, api_url=URL).get_or_fetch(25252, fetch)
    make_cache(tmp_path, api_url=URL + "/").get_or_fetch(25252, fetch)
    assert fetch.calls == [25252]


def test_private_folder_and_files(tmp_path):
    directory = tmp_path / "a" / "cache"
    old_umask = os.umask(0)
    try:
        cache = make_cache(directory)
        cache.get_or_fetch(25252, CountingFetch())
    finally:
        os.umask(old_umask)
    assert mode_of(directory) == 0o700
    names = os.listdir(directory)
    assert len(names) == 2
    for name in names:
        assert mode_of(directory / name) == 0o600


def test_an_existing_open_folder_is_tightened(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir()
    directory.chmod(0o755)
    make_cache(directory)
    assert mode_of(directory) == 0o700


def test_file_names_hide_key_and_order(tmp_path):
    cache = make_cache(tmp_path)
    cache.get_or_fetch(25252, CountingFetch())
    names = sorted(os.listdir(tmp_path))
    assert [re.fullmatch(r"codes-[0-9a-f]{40}\.(json|lock)", name) is not None for name in names] == [True, True]
    for name in names:
        assert KEY not in name
        assert "25252" not in name
    entry = next(name for name in names if name.endswith(".json"))
    text = (tmp_path / entry).read_text()
    assert KEY not in text
    assert json.loads(text) == {"codes": samples.TYPED_ORDER_25252}


def test_expired_entry_is_fetched_again(tmp_path):
    fetch = CountingFetch()
    cache = make_cache(tmp_path, ttl=30)
    cache.get_or_fetch(25252, fetch)
    entry = next(tmp_path.glob("codes-*.json"))
    past = time.time() - 31
    os.utime(entry, (past, past))
    assert cache.get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert fetch.calls == [25252, 25252]
    # The fresh copy is used again.
    cache.get_or_fetch(25252, fetch)
    assert fetch.calls == [25252, 25252]


@pytest.mark.parametrize("content", ["{not json", '{"codes": "x"}', "[1, 2]", ""])
def test_unreadable_entry_is_fetched_again(tmp_path, content):
    fetch = CountingFetch()
    cache = make_cache(tmp_path)
    cache.get_or_fetch(25252, fetch)
    next(tmp_path.glob("codes-*.json")).write_text(content)
    assert cache.get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert fetch.calls == [25252, 25252]


def test_a_failed_fetch_is_remembered_briefly_and_releases_the_lock(tmp_path, monkeypatch):
    cache = make_cache(tmp_path)

    def failing(order_id):
        raise RuntimeError("DigiCert said no")

    with pytest.raises(RuntimeError):
        cache.get_or_fetch(25252, failing)
    # Another fork of the run asking moments later gets the same failure without asking DigiCert.
    fetch = CountingFetch()
    with pytest.raises(_cache.CachedFailure, match=r"^DigiCert said no \(failed \d+s ago in this run"):
        make_cache(tmp_path).get_or_fetch(25252, fetch)
    assert fetch.calls == []
    # Once the failure is older than FAILURE_LIFETIME, the order is asked for again (and the lock is free).
    entry = next(tmp_path.glob("codes-*.json"))
    old = time.time() - _cache.FAILURE_LIFETIME - 1
    os.utime(entry, (old, old))
    assert cache.get_or_fetch(25252, fetch) == samples.TYPED_ORDER_25252
    assert fetch.calls == [25252]


def test_a_remembered_failure_does_not_answer_for_other_tls_settings(tmp_path):
    def failing(order_id):
        raise RuntimeError("TLS verification failed")

    with pytest.raises(RuntimeError):
        make_cache(tmp_path, variant="True\0").get_or_fetch(25252, failing)
    fetch = CountingFetch()
    assert make_cache(tmp_path, variant="True\0/etc/private-ca.pem").get_or_fetch(25252, fetch) == (
        samples.TYPED_ORDER_25252
    )
    assert fetch.calls == [25252]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    cache = make_cache(tmp_path)
    with pytest.raises(TypeError):
        cache.get_or_fetch(1, lambda order_id: [{"id": 1, "odd": {1, 2}}])
    assert [name for name in os.listdir(tmp_path) if not name.endswith(".lock")] == []


def test_log_says_hit_and_miss_without_the_key(tmp_path):
    lines: list[str] = []
    cache = make_cache(tmp_path, log=lines.append)
    cache.get_or_fetch(25252, CountingFetch())
    cache.get_or_fetch(25252, CountingFetch())
    assert lines == [
        "cache miss for voucher order 25252: asking DigiCert",
        "cache hit for voucher order 25252",
    ]


def test_purge_expired(tmp_path):
    cache = make_cache(tmp_path, ttl=600)
    now = time.time()

    def touch(name, age):
        path = tmp_path / name
        path.write_text("{}")
        os.utime(path, (now - age, now - age))
        return path

    old_entry = touch("codes-" + "a" * 40 + ".json", 601)
    young_entry = touch("codes-" + "b" * 40 + ".json", 500)
    old_temp = touch(".entry-abc", 700)
    young_lock = touch("codes-" + "c" * 40 + ".lock", 3600)
    old_lock = touch("codes-" + "d" * 40 + ".lock", 24 * 3600 + 10)
    foreign = touch("notes.txt", 10**6)
    assert cache.purge_expired() == 3
    assert not old_entry.exists() and not old_temp.exists() and not old_lock.exists()
    assert young_entry.exists() and young_lock.exists() and foreign.exists()


def test_purge_keeps_entries_for_a_minute_at_least(tmp_path):
    cache = make_cache(tmp_path, ttl=1)
    path = tmp_path / ("codes-" + "e" * 40 + ".json")
    path.write_text("{}")
    past = time.time() - 30
    os.utime(path, (past, past))
    assert cache.purge_expired() == 0
    assert path.exists()


# ---- unsafe folders ----------------------------------------------------------------------------------------------


def test_folder_owned_by_another_user(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        result = real_lstat(path, *args, **kwargs)
        if os.fspath(path) == str(directory):
            fields = list(result)
            fields[stat.ST_UID] = result.st_uid + 1
            return os.stat_result(fields)
        return result

    monkeypatch.setattr(_cache.os, "lstat", lstat)
    with pytest.raises(CacheError, match="belongs to another user; set cache_dir") as caught:
        make_cache(directory)
    assert str(directory) in str(caught.value)


def test_folder_that_is_a_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = tmp_path / "cache"
    link.symlink_to(target)
    with pytest.raises(CacheError, match="is not a folder"):
        make_cache(link)


def test_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match="cannot create the cache folder"):
        make_cache(tmp_path / "file" / "cache")


def test_home_folder_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = CodesCache("~/.cache/certops.digicert", URL, KEY, ttl=60, run_id=RUN)
    assert cache.directory == str(tmp_path / ".cache" / "certops.digicert")
    assert mode_of(cache.directory) == 0o700


# ---- many processes, one run -------------------------------------------------------------------------------------


def _worker(directory, calls, start, results, index):
    def slow_fetch(order_id):
        with calls.get_lock():
            calls.value += 1
        time.sleep(0.3)
        return [dict(code) for code in samples.TYPED_ORDER_25256]

    start.wait(10)
    # run_id left to the cache: every worker must find the same run as its parent.
    cache = CodesCache(directory, URL, KEY, ttl=600)
    codes = cache.get_or_fetch(25256, slow_fetch)
    results.put((index, codes))


def test_concurrent_processes_fetch_once(tmp_path):
    context = multiprocessing.get_context("fork")
    calls = context.Value("i", 0)
    start = context.Event()
    results = context.Queue()
    directory = str(tmp_path / "cache")
    workers = [context.Process(target=_worker, args=(directory, calls, start, results, n)) for n in range(8)]
    for worker in workers:
        worker.start()
    start.set()
    collected = [results.get(timeout=20) for _worker in workers]
    for worker in workers:
        worker.join(10)
    assert [worker.exitcode for worker in workers] == [0] * 8
    assert calls.value == 1
    assert sorted(index for index, _codes in collected) == list(range(8))
    assert all(codes == samples.TYPED_ORDER_25256 for _index, codes in collected)


def _report_run_id(queue):
    queue.put(current_run_id())


def test_current_run_id_is_the_parents_in_a_child_process():
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_report_run_id, args=(queue,))
    child.start()
    child_run_id = queue.get(timeout=10)
    child.join(10)
    parent_run_id = current_run_id()
    assert child_run_id == parent_run_id
    pid, started = parent_run_id.split("-")
    assert int(pid) == os.getpid()
    assert started.isdigit() and started != "0"


def test_current_run_id_without_proc(monkeypatch):
    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(_cache, "open", no_proc, raising=False)
    assert current_run_id() == f"{os.getpid()}-0"


def test_default_run_id_scopes_the_cache_to_this_run(tmp_path):
    fetch = CountingFetch()
    CodesCache(str(tmp_path), URL, KEY, ttl=600).get_or_fetch(25252, fetch)
    CodesCache(str(tmp_path), URL, KEY, ttl=600, run_id=current_run_id()).get_or_fetch(25252, fetch)
    CodesCache(str(tmp_path), URL, KEY, ttl=600, run_id="an-earlier-run").get_or_fetch(25252, fetch)
    assert fetch.calls == [25252, 25252]
