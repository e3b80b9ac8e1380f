# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: a per-run, cross-process cache of voucher order codes.

Ansible evaluates a lookup in an inventory variable once per host and task, in forked workers.
This cache makes that one request per voucher order per run: the first process to ask takes a
file lock, fetches and stores the codes; the others wait on the lock and read the stored copy.
Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import stat
import tempfile
import time
from collections.abc import Callable

DEFAULT_CACHE_DIR = "~/.cache/certops.digicert"
LOCK_LIFETIME = 24 * 3600
# How long other processes of the run repeat a failure instead of retrying it: hundreds of forks
# each retrying a throttled or broken order would make it worse.
FAILURE_LIFETIME = 30.0


class CacheError(OSError):
    """The cache folder cannot be used safely."""


class CachedFailure(Exception):
    """A fetch failed moments ago in this run; its message, instead of asking DigiCert again."""


def current_run_id() -> str:
    """Identify the ansible-playbook process: workers are forked from it, so they share its id.

    The process start time is added so a reused process id never revives an old run's entries.
    """
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None else os.getpid()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "0"
    return f"{pid}-{started}"


class CodesCache:
    """Codes of voucher orders, stored privately for the current run and at most ``ttl`` seconds.

    File names are hashes of the API URL, the API key, the run, the ``variant`` (the TLS settings) and
    the order id: the key never appears in clear, a different key never reads another key's entries,
    and a failure remembered under one TLS setting never answers for another.
    """

    def __init__(
        self,
        directory: str,
        api_url: str,
        api_key: str,
        ttl: float,
        run_id: str | None = None,
        log: Callable[[str], None] | None = None,
        variant: str = "",
    ) -> None:
        # An empty setting (DIGICERT_CACHE_DIR="") must not mean the current folder.
        self.directory = os.path.abspath(os.path.expanduser(directory or DEFAULT_CACHE_DIR))
        self.ttl = ttl
        self._scope = hashlib.sha256(
            "\0".join((api_url.rstrip("/"), api_key, run_id or current_run_id(), variant)).encode("utf-8")
        ).hexdigest()
        self._log = log or (lambda message: None)
        self._prepare_directory()

    def _prepare_directory(self) -> None:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError as exc:
            raise CacheError(f"cannot create the cache folder {self.directory}: {exc.strerror}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise CacheError(f"the cache folder {self.directory} is not a folder")
        if info.st_uid != os.getuid():
            raise CacheError(f"the cache folder {self.directory} belongs to another user; set cache_dir")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(self.directory, 0o700)

    def _path(self, voucher_order_id: int | str, suffix: str) -> str:
        name = hashlib.sha256(f"{self._scope}\0{voucher_order_id}".encode()).hexdigest()[:40]
        return os.path.join(self.directory, f"codes-{name}{suffix}")

    def get_or_fetch(self, voucher_order_id: int | str, fetch: Callable[[int | str], list]) -> list:
        """The cached codes of one order, or ``fetch(voucher_order_id)`` stored for the others.

        Any other list that one run should compute once (such as the ids a listing found) can be
        cached under a string key the same way.
        """
        return self.get_or_fetch_many([voucher_order_id], lambda order_ids: [fetch(order_ids[0])])[0]

    def get_or_fetch_many(
        self, voucher_order_ids: list[int], fetch_many: Callable[[list[int]], list[list[dict]]]
    ) -> list[list[dict]]:
        """The codes of each order, from the cache or from one ``fetch_many`` call for all the misses.

        Every order's lock is held until its entry is written, so processes asking at the same moment
        queue instead of all calling DigiCert. Locks are taken in id order, so two processes asking
        for overlapping orders can never wait on each other.
        """
        lock_fds: list[int] = []
        try:
            for order_id in sorted(set(voucher_order_ids)):
                lock_fd = os.open(self._path(order_id, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
                lock_fds.append(lock_fd)
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            found: dict[int, list[dict]] = {}
            for order_id in voucher_order_ids:
                codes = self._read(self._path(order_id, ".json"))
                if codes is not None:
                    self._log(f"cache hit for voucher order {order_id}")
                    found[order_id] = codes
            missing = [order_id for order_id in dict.fromkeys(voucher_order_ids) if order_id not in found]
            for order_id in missing:
                self._log(f"cache miss for voucher order {order_id}: asking DigiCert")
            if missing:
                try:
                    fetched = fetch_many(missing)
                except Exception as exc:
                    for order_id in missing:
                        self._write(self._path(order_id, ".json"), {"failure": str(exc)})
                    raise
                for order_id, codes in zip(missing, fetched, strict=True):
                    self._write(self._path(order_id, ".json"), {"codes": codes})
                    found[order_id] = codes
            return [found[order_id] for order_id in voucher_order_ids]
        finally:
            for lock_fd in lock_fds:
                os.close(lock_fd)

    def _read(self, path: str) -> list[dict] | None:
        try:
            age = time.time() - os.stat(path).st_mtime
            if age > self.ttl:
                return None
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(document, dict):
            return None
        if isinstance(document.get("failure"), str):
            if age > FAILURE_LIFETIME:
                return None
            raise CachedFailure(f"{document['failure']} (failed {age:.0f}s ago in this run; not asked again yet)")
        codes = document.get("codes")
        return codes if isinstance(codes, list) else None

    def _write(self, path: str, document: dict) -> None:
        fd, temp_path = tempfile.mkstemp(prefix=".entry-", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
            os.replace(temp_path, path)
        except BaseException:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
            raise

    def purge_expired(self) -> int:
        """Remove entries older than the lifetime, from this run or earlier ones.

        Lock files are kept for a day: removing one while another process waits on it would let two
        processes fetch the same order at once.
        """
        removed = 0
        now = time.time()
        for name in os.listdir(self.directory):
            if not name.startswith(("codes-", ".entry-")):
                continue
            path = os.path.join(self.directory, name)
            age_limit = LOCK_LIFETIME if name.endswith(".lock") else max(self.ttl, 60)
            try:
                if now - os.stat(path).st_mtime > age_limit:
                    os.unlink(path)
                    removed += 1
            except OSError:
                continue
        return removed
