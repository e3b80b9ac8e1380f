"""Unit tests of plugins/module_utils/_files.py: atomic, private, change-detecting file replacement."""

from __future__ import annotations

import os
import stat

import pytest
from ansible_collections.certops.digicert.plugins.module_utils import _files
from ansible_collections.certops.digicert.plugins.module_utils._files import (
    DIFF_LIMIT_BYTES,
    FileWriteError,
    parse_mode,
    replace_text_file,
)

MODULE_DEFAULT_MODE = 0o600  # the module's documented default '0600'


def writes(text: str):
    def render(stream) -> None:
        stream.write(text)

    return render


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.startswith(".certops-"))


@pytest.fixture
def dest(tmp_path):
    return str(tmp_path / "codes.csv")


# ---- parse_mode --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("0600", 0o600), ("600", 0o600), (" 0640 ", 0o640), (384, 0o600)])
def test_parse_mode_accepts(raw, expected):
    assert parse_mode(raw) == expected


@pytest.mark.parametrize("raw", ["u=rw", "999", "0o600", "", "  ", True, False, None, 6.0, "17777", -1, 0o10000])
def test_parse_mode_rejects(raw):
    with pytest.raises(ValueError, match=r"^mode "):
        parse_mode(raw)


def test_parse_mode_names_the_option():
    with pytest.raises(ValueError, match=r"^file_mode must be an octal file mode such as '0600', not 'rw'"):
        parse_mode("rw", option_name="file_mode")


# ---- creating and replacing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [MODULE_DEFAULT_MODE, 0o640])
def test_creates_the_file_with_the_mode(dest, mode):
    result = replace_text_file(dest, writes("id,value\r\n1,Ä\r\n"), mode)
    assert result.changed is True
    assert result.diff == {}
    with open(dest, "rb") as handle:
        assert handle.read() == "id,value\r\n1,Ä\r\n".encode()
    assert mode_of(dest) == mode


def test_creation_ignores_a_permissive_umask(dest):
    old = os.umask(0)
    try:
        replace_text_file(dest, writes("x"), 0o600)
    finally:
        os.umask(old)
    assert mode_of(dest) == 0o600


def test_same_content_leaves_the_file_untouched(dest, tmp_path):
    replace_text_file(dest, writes("same\r\n"), 0o600)
    os.utime(dest, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    before = os.stat(dest)
    result = replace_text_file(dest, writes("same\r\n"), 0o600, want_diff=True)
    after = os.stat(dest)
    assert result.changed is False
    assert result.diff == {}
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert leftovers(tmp_path) == []


def test_changed_content_replaces_the_file_atomically(dest, tmp_path):
    replace_text_file(dest, writes("old\r\n"), 0o600)
    old_inode = os.stat(dest).st_ino
    # A reader holding the old file keeps seeing the old content: the new one arrives by rename.
    with open(dest, encoding="utf-8", newline="") as reader:
        result = replace_text_file(dest, writes("new\r\n"), 0o600)
        assert reader.read() == "old\r\n"
    assert result.changed is True
    assert os.stat(dest).st_ino != old_inode
    with open(dest, encoding="utf-8", newline="") as handle:
        assert handle.read() == "new\r\n"
    assert leftovers(tmp_path) == []


def test_replacing_applies_the_mode(dest):
    replace_text_file(dest, writes("old"), 0o644)
    replace_text_file(dest, writes("new"), 0o600)
    assert mode_of(dest) == 0o600


def test_mode_only_change(dest, tmp_path):
    replace_text_file(dest, writes("same"), 0o644)
    inode = os.stat(dest).st_ino
    result = replace_text_file(dest, writes("same"), 0o600, want_diff=True)
    assert result.changed is True
    assert mode_of(dest) == 0o600
    assert os.stat(dest).st_ino == inode
    assert result.diff == {
        "before": {"path": dest, "mode": "0644"},
        "after": {"path": dest, "mode": "0600"},
    }
    assert leftovers(tmp_path) == []


def test_mode_only_change_without_diff(dest):
    replace_text_file(dest, writes("same"), 0o644)
    result = replace_text_file(dest, writes("same"), 0o640)
    assert (result.changed, result.diff, mode_of(dest)) == (True, {}, 0o640)


# ---- check mode and diff -----------------------------------------------------------------------------------------


def test_check_mode_writes_nothing_but_reports_a_new_file(dest, tmp_path):
    result = replace_text_file(dest, writes("new"), 0o600, check_mode=True, want_diff=True)
    assert result.changed is True
    assert result.diff == {"before_header": dest, "after_header": dest, "before": "", "after": "new"}
    assert os.listdir(tmp_path) == []


def test_check_mode_reports_a_change_without_writing(dest):
    replace_text_file(dest, writes("old"), 0o600)
    before = os.stat(dest)
    result = replace_text_file(dest, writes("new"), 0o600, check_mode=True)
    assert result.changed is True
    assert result.diff == {}
    after = os.stat(dest)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)


def test_check_mode_reports_no_change(dest):
    replace_text_file(dest, writes("same"), 0o600)
    assert replace_text_file(dest, writes("same"), 0o600, check_mode=True, want_diff=True).changed is False


def test_check_mode_sees_a_mode_change(dest):
    replace_text_file(dest, writes("same"), 0o644)
    assert replace_text_file(dest, writes("same"), 0o600, check_mode=True).changed is True
    assert mode_of(dest) == 0o644


def test_diff_shows_before_and_after(dest):
    replace_text_file(dest, writes("id\r\n1\r\n"), 0o600)
    result = replace_text_file(dest, writes("id\r\n2\r\n"), 0o600, want_diff=True)
    assert result.diff == {
        "before_header": dest,
        "after_header": dest,
        "before": "id\r\n1\r\n",
        "after": "id\r\n2\r\n",
    }


def test_check_mode_diff_equals_the_real_diff(dest, tmp_path):
    replace_text_file(dest, writes("a\r\n"), 0o600)
    predicted = replace_text_file(dest, writes("b\r\n"), 0o600, check_mode=True, want_diff=True)
    real = replace_text_file(dest, writes("b\r\n"), 0o600, want_diff=True)
    assert predicted == real


def test_diff_of_large_content_is_not_shown(dest):
    big_old = "o" * (DIFF_LIMIT_BYTES + 10)
    replace_text_file(dest, writes(big_old), 0o600)
    result = replace_text_file(dest, writes("x" * (DIFF_LIMIT_BYTES + 10)), 0o600, want_diff=True)
    assert result.changed is True
    assert len(result.diff["before"]) < 200 and "not shown" in result.diff["before"]
    assert len(result.diff["after"]) < 200 and "not shown" in result.diff["after"]


def test_diff_of_large_content_in_check_mode_is_not_shown(dest):
    result = replace_text_file(dest, writes("x" * (DIFF_LIMIT_BYTES + 1)), 0o600, check_mode=True, want_diff=True)
    assert result.diff["before"] == ""
    assert len(result.diff["after"]) < 200 and "not shown" in result.diff["after"]


def test_diff_at_the_limit_is_shown(dest):
    text = "y" * DIFF_LIMIT_BYTES
    result = replace_text_file(dest, writes(text), 0o600, check_mode=True, want_diff=True)
    assert result.diff["after"] == text
    result = replace_text_file(dest, writes(text), 0o600, want_diff=True)
    assert result.diff["after"] == text


def test_large_diff_placeholder_is_the_same_in_check_mode_and_real_run(dest):
    text = "z" * (DIFF_LIMIT_BYTES + 1)
    predicted = replace_text_file(dest, writes(text), 0o600, check_mode=True, want_diff=True)
    real = replace_text_file(dest, writes(text), 0o600, want_diff=True)
    assert ".certops-" not in real.diff["after"]
    assert predicted.diff == real.diff


def test_check_mode_diff_of_a_mode_only_change_equals_the_real_diff(dest):
    replace_text_file(dest, writes("same"), 0o644)
    predicted = replace_text_file(dest, writes("same"), 0o600, check_mode=True, want_diff=True)
    real = replace_text_file(dest, writes("same"), 0o600, want_diff=True)
    assert predicted == real


# ---- failures ----------------------------------------------------------------------------------------------------


def test_missing_directory(tmp_path):
    dest = str(tmp_path / "nowhere" / "codes.csv")
    with pytest.raises(FileWriteError) as caught:
        replace_text_file(dest, writes("x"), 0o600)
    assert dest in str(caught.value)
    assert "does not exist" in str(caught.value)


def test_dest_is_a_directory(tmp_path):
    (tmp_path / "codes.csv").mkdir()
    dest = str(tmp_path / "codes.csv")
    with pytest.raises(FileWriteError, match="it is a directory") as caught:
        replace_text_file(dest, writes("x"), 0o600)
    assert dest in str(caught.value)


def test_unwritable_directory(tmp_path, monkeypatch):
    # root may write anywhere, so the permission answer is simulated at the one call that asks it.
    directory = str(tmp_path)
    real_access = os.access

    def access(path, mode, **kwargs):
        if os.path.abspath(path) == directory:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(_files.os, "access", access)
    dest = str(tmp_path / "codes.csv")
    with pytest.raises(FileWriteError) as caught:
        replace_text_file(dest, writes("x"), 0o600)
    assert dest in str(caught.value)
    assert "no permission" in str(caught.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_really_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(FileWriteError, match="no permission"):
            replace_text_file(str(locked / "codes.csv"), writes("x"), 0o600)
    finally:
        locked.chmod(0o700)


def test_a_failing_render_leaves_the_old_file_and_no_temporary_file(dest, tmp_path):
    replace_text_file(dest, writes("old\r\n"), 0o640)
    inode = os.stat(dest).st_ino

    def render(stream) -> None:
        stream.write("half of the new")
        raise RuntimeError("DigiCert went away")

    with pytest.raises(RuntimeError, match="DigiCert went away"):
        replace_text_file(dest, render, 0o600)
    with open(dest, encoding="utf-8", newline="") as handle:
        assert handle.read() == "old\r\n"
    assert os.stat(dest).st_ino == inode
    assert mode_of(dest) == 0o640
    assert leftovers(tmp_path) == []


def test_a_failing_render_in_check_mode_writes_nothing(dest, tmp_path):
    def render(stream) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        replace_text_file(dest, render, 0o600, check_mode=True)
    assert os.listdir(tmp_path) == []


def test_relative_dest_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert replace_text_file("report.csv", writes("x"), 0o600).changed is True
    assert (tmp_path / "report.csv").read_text() == "x"
