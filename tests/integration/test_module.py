"""certops.digicert.digicert_voucher_codes in real ansible-playbook runs against the DigiCert simulator.

Expected records and CSV text are written out by hand (tests/documented_samples.py) from DigiCert's "List codes
for voucher order" samples (orders 25252 and 25256) and from the simulator's documented data set (25260, 25261,
25270). Tests that matter for both execution paths run twice: in the controller's worker (the action plugin's
shortcut for local connections) and as a real module through AnsiballZ (a renamed local connection, see
conftest.py).
"""

from __future__ import annotations

import os
import stat

import pytest

from tests import documented_samples as samples

VIA = pytest.mark.parametrize("via_module", [False, True], ids=["in-process", "module"])
LARGE_ORDER = 90001


def ids_of(result):
    return [code["id"] for code in result["codes"]]


def assert_typed(code):
    assert list(code) == samples.FIELDS or sorted(code) == sorted(samples.FIELDS)
    for name in samples.INTEGER_FIELDS:
        # A plain int: bool is a subclass of int, and true/false are not numbers here.
        value = code[name]
        assert isinstance(value, int) and not isinstance(value, bool), f"{name} is {type(value).__name__}: {value!r}"


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


# ---- records -------------------------------------------------------------------------------------------------


@VIA
def test_documented_orders_filters_and_fields(play, sim, via_module):
    run = play.run("module/seed.yml", extra_vars={"via_module": via_module})
    assert run.rc == 0, run

    one = run.ok("seed 25252")
    # Only a real module run reports its invocation (with the key masked by no_log).
    assert ("invocation" in one) is via_module
    if via_module:
        assert one["invocation"]["module_args"]["api_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert one["codes"] == [samples.TYPED_49170]
    assert_typed(one["codes"][0])
    assert one["count"] == 1
    assert one["voucher_order_ids"] == [25252]
    assert one["summary"] == {"total": 1, "by_status": {"used": 1}, "by_product": {"Basic OV": 1}}
    assert one["changed"] is False
    assert "dest" not in one

    two = run.ok("seed 25256")
    assert two["codes"] == samples.TYPED_ORDER_25256
    for code in two["codes"]:
        assert_typed(code)
    assert two["summary"]["by_product"] == {"Basic OV": 1, "Secure Site Pro EV SSL": 1}

    ordered = run.ok("list keeps order")
    assert ids_of(ordered) == [49178, 49179, 49170]
    assert ordered["voucher_order_ids"] == [25256, 25252]

    repeated = run.ok("duplicate ids")
    assert repeated["voucher_order_ids"] == [25252]
    assert ids_of(repeated) == [49170]

    assert ids_of(run.ok("status used")) == [49178, 49179]
    assert ids_of(run.ok("status ACTIVE ignores case")) == [49250, 49251, 49252, 49253, 49254, 49255]
    assert ids_of(run.ok("product basic ov")) == [49178, 49250, 49251, 49252, 49253]
    both = run.ok("status and product")
    assert ids_of(both) == [49254, 49255]
    assert both["count"] == 2
    assert both["summary"]["by_status"] == {"active": 2}

    assert run.ok("fields id and value")["codes"] == [
        {"id": 49178, "value": "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM", "server_licenses": 1},
        {"id": 49179, "value": "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5", "server_licenses": 1},
    ]
    assert "no_such_field" in run.failed("unknown field")["msg"]

    empty = run.ok("empty order")
    assert empty["codes"] == []
    assert empty["count"] == 0

    # Each task asks once per distinct order: the repeated id is fetched once.
    by_path = sim.stats()["by_path"]
    assert by_path == {
        "/services/v2/voucher/25252/download": 3,
        "/services/v2/voucher/25256/download": 8,
        "/services/v2/voucher/25260/download": 4,
        "/services/v2/voucher/25270/download": 1,
    }
    assert "Traceback" not in run.output


# ---- the CSV report ------------------------------------------------------------------------------------------


@pytest.fixture
def large_order(sim):
    """Order 90001 with 3000 codes from the simulator's deterministic generator, for the streaming comparison."""
    from tests.simulator.digicert_simulator import large_order_codes

    meta, codes = large_order_codes(LARGE_ORDER, 3000)
    sim.set_order(LARGE_ORDER, codes, meta)
    return codes


def test_report_content_mode_and_idempotence(play, sim, out, large_order):
    orders = [25252, 25256, 25260, 25261, LARGE_ORDER]
    run = play.run("module/report.yml", extra_vars={"out": str(out), "report_orders": orders})
    assert run.rc == 0, run
    report = out / "codes.csv"

    first = run.ok("first write")
    assert first["changed"] is True
    assert first["dest"] == str(report)
    assert read_bytes(out / "exact.csv") == samples.REPORT_25256.encode("utf-8")
    assert stat.S_IMODE(os.stat(out / "exact.csv").st_mode) == 0o600
    assert run.ok("second write")["changed"] is False
    assert run.ok("mode only")["changed"] is True
    assert run.ok("mode only again")["changed"] is False
    assert stat.S_IMODE(os.stat(out / "int-mode.csv").st_mode) == 0o640
    assert run.ok("content changes")["changed"] is True
    assert read_bytes(report) == samples.report_of(
        samples.REPORT_ROW_49178, samples.REPORT_ROW_49179, samples.REPORT_ROW_49170
    ).encode("utf-8")
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o640

    # The streamed report (DigiCert's CSV in, row by row) is byte for byte the normal one (JSON in).
    normal, streamed = run.ok("normal report"), run.ok("streamed report")
    assert "codes" not in streamed
    assert streamed["summary"] == normal["summary"]
    assert streamed["count"] == normal["count"] == 1 + 2 + 6 + 4 + len(large_order)
    normal_text = read_bytes(out / "normal.csv")
    assert read_bytes(out / "streamed.csv") == normal_text
    assert normal_text.startswith(
        samples.report_of(samples.REPORT_ROW_49170, samples.REPORT_ROW_49178, samples.REPORT_ROW_49179).encode("utf-8")
    )
    assert samples.crlf_lines(samples.REPORT_ROW_49260, samples.REPORT_ROW_49261).encode("utf-8") in normal_text
    assert normal_text.count(b"\r\n") == 1 + normal["count"]
    for name in ("normal.csv", "streamed.csv", "streamed-filtered.csv", "normal-filtered.csv"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o600, name

    wanted = sum(1 for code in large_order if code["status"] == "active" and code["product_name"] == "Basic OV")
    filtered = run.ok("streamed report filtered")
    assert filtered["count"] == run.ok("normal report filtered")["count"] == 4 + 1 + wanted
    assert read_bytes(out / "streamed-filtered.csv") == read_bytes(out / "normal-filtered.csv")
    written = ["codes.csv", "exact.csv", "int-mode.csv", "normal.csv", "streamed.csv"]
    written += ["normal-filtered.csv", "streamed-filtered.csv"]
    assert sorted(os.listdir(out)) == sorted(written), "temporary files left behind"


def test_check_mode_and_diff(play, sim, out, kept_file):
    same = kept_file(out / "same.csv", samples.REPORT_25256, 0o600)

    run = play.run("module/check_diff.yml", extra_vars={"out": str(out)}, check=True, diff=True)
    assert run.rc == 0, run

    new = run.ok("new file")
    assert new["changed"] is True
    assert new["diff"]["before"] == ""
    assert new["diff"]["after"] == samples.REPORT_25256
    unchanged = run.ok("existing file unchanged")
    assert unchanged["changed"] is False
    assert not unchanged.get("diff")
    content = run.ok("existing file content change")
    assert content["changed"] is True
    assert content["diff"]["before"] == samples.REPORT_25256
    assert content["diff"]["after"] == samples.REPORT_25252
    mode = run.ok("existing file mode change")
    assert mode["changed"] is True
    assert "0600" in str(mode["diff"]["before"]) and "0640" in str(mode["diff"]["after"]), mode["diff"]
    assert run.ok("streamed new file")["changed"] is True

    # Nothing was written: no new files, the existing one untouched.
    assert os.listdir(out) == ["same.csv"]
    same.assert_untouched()
    # --diff is shown to the person running the play, as a unified diff of the CSV text.
    assert "+49170,ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS,Basic OV" in run.stdout
    assert "-49179,4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5,Secure Site Pro EV SSL" in run.stdout


# ---- connection options ----------------------------------------------------------------------------------------


def test_connection_sources(play, sim, closed_url):
    """api_url beats DIGICERT_API_URL beats platform; module_defaults of the action group apply.

    Only URL selection that ends at the simulator or at a closed local port is checked: nothing here may
    reach DigiCert's real platforms (a proxy trap would catch the attempt and fail the test).
    """
    run = play.run(
        "module/connection.yml",
        extra_vars={"sim_url": sim.base_url, "closed_url": closed_url},
        env={"DIGICERT_API_URL": closed_url},
    )
    assert run.rc == 0, run
    for task in (
        "api_url wins over the environment",
        "api_url with trailing slash wins over platform eu",
        "environment wins over platform",
        "environment alone",
        "group defaults",
    ):
        assert run.ok(task)["codes"] == [samples.TYPED_49170], task
    for task in ("closed port from the environment", "task argument beats group defaults"):
        message = run.failed(task)["msg"]
        assert "cannot reach 127.0.0.1" in message, message
        assert "refused" in message.lower(), message
    assert sim.stats()["by_path"] == {"/services/v2/voucher/25252/download": 5}


# ---- failures ----------------------------------------------------------------------------------------------------


@VIA
def test_failures_are_clean(play, sim, out, closed_url, via_module):
    sim.add_faults([{"order": 25260, "kind": "delay:3", "times": 1}])
    run = play.run(
        "module/errors.yml",
        extra_vars={"out": str(out), "closed_url": closed_url, "via_module": via_module},
    )
    assert run.rc == 0, run

    denied = run.failed("wrong key")
    assert "access denied" in denied["msg"].lower()
    assert "access_denied|access_denied_invalid_key" in denied["msg"]
    assert "voucher order 25252" in denied["msg"]
    assert denied["http_status"] == 403
    assert denied["error_codes"] == ["access_denied|access_denied_invalid_key"]
    assert "not-the-simulator-key" not in run.output

    missing = run.failed("unknown order")
    assert missing["http_status"] == 404
    assert "not_found" in missing["msg"]
    assert "voucher order 99999" in missing["msg"]
    assert missing["error_codes"] == ["not_found"]

    unreachable = run.failed("unreachable")
    assert "cannot reach 127.0.0.1" in unreachable["msg"]
    assert "refused" in unreachable["msg"].lower()
    assert unreachable["http_status"] is None

    timeout = run.failed("timeout")
    assert "timeout" in timeout["msg"].lower()
    assert "voucher order 25260" in timeout["msg"]

    for task in ("dest directory missing", "streamed dest directory missing"):
        message = run.failed(task)["msg"]
        assert str(out / "no" / "such" / "dir") in message and "does not exist" in message, message
    directory = run.failed("dest is a directory")["msg"]
    assert str(out) in directory and "directory" in directory
    assert os.listdir(out) == []

    assert "Traceback" not in run.output
    assert sim.stats()["by_path"]["/services/v2/voucher/25260/download"] == 1  # retries: 0


def test_malformed_ids_and_missing_key_send_nothing(play, sim):
    run = play.run("module/bad_ids.yml")
    assert run.rc == 0, run
    for task, shown in (
        ("id 25252abc", "25252abc"),
        ("id ../voucher", "../voucher"),
        ("id -5", "-5"),
        ("id 0", "0"),
        ("valid id then a bad one", "25256/../../voucher"),
        ("id true", "True"),
        ("id 1.5", "1.5"),
    ):
        message = run.failed(task)["msg"]
        assert "voucher_order_id" in message and shown in message, (task, message)
    assert "voucher_order_id" in run.failed("no ids")["msg"]

    run = play.run("module/missing_key.yml", unset=["DIGICERT_API_KEY"])
    assert run.rc == 0, run
    for task in ("missing key", "empty key"):
        message = run.failed(task)["msg"]
        assert "api_key" in message and "DIGICERT_API_KEY" in message, message

    assert sim.stats()["requests"] == 0
    assert "Traceback" not in run.output
