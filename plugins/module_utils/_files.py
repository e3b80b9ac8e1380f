# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: private, atomic file replacement with change detection.

Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

# Diffs of larger files are not shown: the text would flood the terminal and the log.
DIFF_LIMIT_BYTES = 256 * 1024


class FileWriteError(OSError):
    """A destination that cannot be written; the message names the path and the reason."""


@dataclass
class FileResult:
    changed: bool
    diff: dict = field(default_factory=dict)


def parse_mode(mode, option_name: str = "mode") -> int:
    """Accept an octal string (``"0600"``) or an int (YAML's unquoted ``0600`` arrives as 384)."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and mode.strip() and all(c in "01234567" for c in mode.strip()):
        value = int(mode.strip(), 8)
    else:
        raise ValueError(f"{option_name} must be an octal file mode such as '0600', not {mode!r}")
    if not 0 <= value <= 0o7777:
        raise ValueError(f"{option_name} {oct(value)} is not a file mode")
    # Voucher codes are bearer value: the owner may read and write, the group at most read.
    if value & ~0o640:
        raise ValueError(
            f"{option_name} {value:04o} would let other users read or change voucher codes (or sets special bits); "
            "use 0600, or 0640 to let the file's group read it"
        )
    return value


class _DigestSink(io.TextIOBase):
    """A text stream that keeps only a hash, and the text itself while it is small enough to diff."""

    def __init__(self, keep_text: bool) -> None:
        self._hash = hashlib.sha256()
        self._chunks: list[str] | None = [] if keep_text else None
        self._kept = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._hash.update(data)
        if self._chunks is not None:
            self._kept += len(data)
            if self._kept > DIFF_LIMIT_BYTES:
                self._chunks = None
            else:
                self._chunks.append(text)
        return len(text)

    def digest(self) -> str:
        return self._hash.hexdigest()

    def text(self) -> str | None:
        return None if self._chunks is None else "".join(self._chunks)


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(block)
            return digest.hexdigest()
    except FileNotFoundError:
        return None


def _read_for_diff(path: str) -> str | None:
    """The text of ``path`` for a diff; None when it is too large to show."""
    try:
        if os.path.getsize(path) > DIFF_LIMIT_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _check_destination(dest: str) -> None:
    if not dest:
        raise FileWriteError("cannot write the report: dest is empty")
    try:
        info = os.lstat(dest)
    except FileNotFoundError:
        info = None
    # Replacing a device, a pipe or a link by rename would destroy it (or hang on reading it first).
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise FileWriteError(f"cannot write {dest}: it is a symbolic link; give the path of the file itself")
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        raise FileWriteError(f"cannot write {dest}: it exists and is not a regular file")
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise FileWriteError(f"cannot write {dest}: the directory {directory} does not exist")
    if os.path.isdir(dest):
        raise FileWriteError(f"cannot write {dest}: it is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise FileWriteError(f"cannot write {dest}: no permission to create files in {directory}")


def replace_text_file(
    dest: str, render: Callable[[TextIO], None], mode: int, check_mode: bool = False, want_diff: bool = False
) -> FileResult:
    """Render text into ``dest`` (UTF-8) only if the content or mode would change.

    The new content goes to a private temporary file beside ``dest`` and replaces it with one
    rename, so readers see the old file or the new one, never a half-written one, and a failure
    leaves the old file as it was. In check mode nothing is written: the content is only hashed.
    """
    _check_destination(dest)
    old_digest = _file_digest(dest)
    old_mode = stat.S_IMODE(os.stat(dest).st_mode) if old_digest is not None else None
    before = _read_for_diff(dest) if want_diff else None
    if want_diff and before is None:
        before = f"(old content is larger than {DIFF_LIMIT_BYTES} bytes; not shown)\n"

    if check_mode:
        sink = _DigestSink(keep_text=want_diff)
        render(sink)
        if sink.digest() == old_digest:
            if old_mode == mode:
                return FileResult(False)
            return FileResult(True, _mode_diff(dest, old_mode, mode) if want_diff else {})
        return FileResult(True, _diff(dest, before, sink.text()) if want_diff else {})

    directory = os.path.dirname(os.path.abspath(dest))
    fd, temp_path = tempfile.mkstemp(prefix=".certops-", suffix=".tmp", dir=directory)
    try:
        if old_digest is not None:
            _keep_ownership(dest, fd)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            render(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if _file_digest(temp_path) == old_digest:
            os.unlink(temp_path)
            if old_mode != mode:
                os.chmod(dest, mode)
                return FileResult(True, _mode_diff(dest, old_mode, mode) if want_diff else {})
            return FileResult(False)
        after = _read_for_diff(temp_path) if want_diff else None
        os.chmod(temp_path, mode)
        os.replace(temp_path, dest)
    except BaseException:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
        raise
    return FileResult(True, _diff(dest, before, after) if want_diff else {})


def _keep_ownership(dest: str, fd: int) -> None:
    """Give the new file the old one's owner and group where we may (as root, or our own group)."""
    info = os.stat(dest)
    try:
        os.fchown(fd, info.st_uid, info.st_gid)
    except PermissionError:
        pass


def _diff(dest: str, before: str | None, after: str | None) -> dict:
    if after is None:
        after = f"(new content is larger than {DIFF_LIMIT_BYTES} bytes; not shown)\n"
    return {"before_header": dest, "after_header": dest, "before": before or "", "after": after}


def _mode_diff(dest: str, old_mode: int | None, new_mode: int) -> dict:
    return {
        "before": {"path": dest, "mode": f"{old_mode or 0:04o}"},
        "after": {"path": dest, "mode": f"{new_mode:04o}"},
    }
