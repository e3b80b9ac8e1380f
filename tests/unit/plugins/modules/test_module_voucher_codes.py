"""The digicert_voucher_codes module run in-process (its main() with patched module args) against the simulator."""

from __future__ import annotations

import datetime
import os
import stat

import certops_unit_support as support
import pytest
from ansible_collections.certops.digicert.plugins.modules.digicert_voucher_codes import main

from tests import documented_samples as samples

# The data set of tests/simulator/README.md: order 25260 holds codes 49250-49255, 4 Basic OV then 2 Secure Site
# Pro EV SSL, all active; order 25261 holds 49260-49263 with awkward organization names.
ORDER_25260_IDS = [49250, 49251, 49252, 49253, 49254, 49255]


@pytest.fixture
def run(digicert_sim, capsys):
    def run_with(**args) -> dict:
        full = {"api_key": digicert_sim.api_key, "api_url": digicert_sim.base_url, "retries": 1}
        full.update(args)
        full = {name: value for name, value in full.items() if value is not None}
        return support.run_module(main, full, capsys)

    return run_with


def read_bytes(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_codes_of_one_order(run, digicert_sim):
    result = run(voucher_order_id=25252)
    assert result["changed"] is False
    assert result["codes"] == samples.TYPED_ORDER_25252
    assert result["count"] == 1
    assert result["voucher_order_ids"] == [25252]
    assert result["summary"] == {"total": 1, "by_status": {"used": 1}, "by_product": {"Basic OV": 1}}
    assert "dest" not in result and "request_log" not in result
    assert digicert_sim.stats()["requests"] == 1


def test_several_orders_in_the_order_given_without_repeats(run, digicert_sim):
    result = run(voucher_order_id=[25256, "25252", " 25256 "])
    assert result["voucher_order_ids"] == [25256, 25252]
    assert result["codes"] == samples.TYPED_ORDER_25256 + samples.TYPED_ORDER_25252
    assert digicert_sim.stats()["requests"] == 2


def test_comma_separated_ids(run):
    assert run(voucher_order_id="25252,25256")["voucher_order_ids"] == [25252, 25256]


@pytest.mark.parametrize(
    ("status", "product", "ids"),
    [
        (["ACTIVE"], ["secure site pro ev ssl"], [49254, 49255]),
        (["active"], None, ORDER_25260_IDS),
        (["used"], None, []),
        (None, ["Basic OV"], [49250, 49251, 49252, 49253]),
    ],
)
def test_filters(run, status, product, ids):
    result = run(voucher_order_id=25260, status=status, product_name=product)
    assert [code["id"] for code in result["codes"]] == ids
    assert result["count"] == len(ids)


def test_fields_limit_the_returned_codes(run):
    result = run(voucher_order_id=25256, fields=["value", "id"])
    assert result["codes"] == [
        {"value": "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM", "id": 49178},
        {"value": "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5", "id": 49179},
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (["id", "nope"], "fields: nope not a field of DigiCert voucher codes"),
        (["id", " id"], "fields names a field twice"),
        (["id", " "], "fields must name at least one field, and no empty names"),
    ],
)
def test_bad_fields(run, fields, message):
    result = run(voucher_order_id=25252, fields=fields)
    assert result["failed"] is True
    assert message in result["msg"]


def test_return_codes_false_without_dest_returns_the_summary_only(run):
    result = run(voucher_order_id=25260, return_codes=False)
    assert "codes" not in result
    assert result["count"] == 6
    assert result["summary"]["by_product"] == {"Basic OV": 4, "Secure Site Pro EV SSL": 2}


# ---- the report --------------------------------------------------------------------------------------------------


def test_dest_report_changed_then_idempotent(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    first = run(voucher_order_id=25252, dest=dest)
    assert first["changed"] is True
    assert first["dest"] == dest
    assert read_bytes(dest) == samples.REPORT_25252.encode("utf-8")
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    inode = os.stat(dest).st_ino
    second = run(voucher_order_id=25252, dest=dest)
    assert second["changed"] is False
    assert os.stat(dest).st_ino == inode
    third = run(voucher_order_id=[25252, 25256], dest=dest)
    assert third["changed"] is True
    assert read_bytes(dest).count(b"\r\n") == 4


@pytest.mark.parametrize(("mode", "expected"), [("0640", 0o640), (0o640, 0o640), ("600", 0o600)])
def test_dest_mode(run, tmp_path, mode, expected):
    dest = str(tmp_path / "codes.csv")
    assert run(voucher_order_id=25252, dest=dest, mode=mode)["changed"] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == expected


@pytest.mark.parametrize("mode", ["0644", "0660", "04600", 644])
def test_dest_modes_that_share_the_codes_are_refused(run, tmp_path, mode):
    dest = tmp_path / "codes.csv"
    result = run(voucher_order_id=25252, dest=str(dest), mode=mode)
    assert result["failed"] is True
    assert "would let other users read or change voucher codes" in result["msg"]
    assert not dest.exists()


def test_dest_that_is_not_a_regular_file_is_refused(run, tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("keep me\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for dest, reason in ((link, "is a symbolic link"), (fifo, "is not a regular file")):
        result = run(voucher_order_id=25252, dest=str(dest))
        assert result["failed"] is True
        assert reason in result["msg"]
    assert link.is_symlink() and target.read_text() == "keep me\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_check_mode_reports_without_writing(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    result = run(voucher_order_id=25252, dest=dest, _ansible_check_mode=True)
    assert result["changed"] is True
    assert result["codes"] == samples.TYPED_ORDER_25252
    assert os.listdir(tmp_path) == []
    run(voucher_order_id=25252, dest=dest)
    assert run(voucher_order_id=25252, dest=dest, _ansible_check_mode=True)["changed"] is False


def test_diff_of_a_new_report(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    result = run(voucher_order_id=25252, dest=dest, _ansible_diff=True)
    assert result["diff"] == {
        "before_header": dest,
        "after_header": dest,
        "before": "",
        "after": samples.REPORT_25252,
    }


def test_diff_in_check_mode_shows_the_change(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    run(voucher_order_id=25252, dest=dest)
    result = run(voucher_order_id=25256, dest=dest, _ansible_diff=True, _ansible_check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == samples.REPORT_25252
    assert "49178" in result["diff"]["after"] and "49170" not in result["diff"]["after"]
    assert read_bytes(dest) == samples.REPORT_25252.encode("utf-8")


@pytest.mark.parametrize(
    "order_ids",
    [[25252, 25256], [25261, 25260, 25270], [support.LARGE_ORDER_ID]],
    ids=["samples", "special", "large"],
)
def test_streamed_report_equals_the_report_of_returned_codes(run, tmp_path, order_ids, digicert_sim):
    from_codes = str(tmp_path / "from-codes.csv")
    streamed = str(tmp_path / "streamed.csv")
    with_codes = run(voucher_order_id=order_ids, dest=from_codes, expiring_within_days=30)
    digicert_sim.process.reset()
    without_codes = run(voucher_order_id=order_ids, dest=streamed, return_codes=False, expiring_within_days=30)
    assert read_bytes(streamed) == read_bytes(from_codes)
    assert "codes" not in without_codes
    assert without_codes["summary"] == with_codes["summary"]
    assert without_codes["count"] == with_codes["count"]
    # The streamed run asked for DigiCert's CSV.
    assert {entry["accept"] for entry in digicert_sim.requests()[-len(order_ids) :]} == {"text/csv"}


def test_streamed_report_with_filters(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    result = run(voucher_order_id=25260, dest=dest, return_codes=False, product_name=["Secure Site Pro EV SSL"])
    lines = read_bytes(dest).decode().split("\r\n")
    assert [line.split(",")[0] for line in lines[1:-1]] == ["49254", "49255"]
    assert result["count"] == 2


def test_columns_and_byte_order_mark(run, tmp_path):
    dest = str(tmp_path / "codes.csv")
    run(voucher_order_id=25256, dest=dest, columns=["value", "id", "comment"], byte_order_mark=True)
    assert read_bytes(dest) == (
        b"\xef\xbb\xbfvalue,id,comment\r\n"
        b"ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM,49178,\r\n"
        b"4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5,49179,\r\n"
    )


def test_bad_columns(run, tmp_path):
    result = run(voucher_order_id=25256, dest=str(tmp_path / "x.csv"), columns=["id", "id"])
    assert result["failed"] is True
    assert "columns names a field twice" in result["msg"]


@pytest.mark.parametrize(("neutralize", "cell"), [(True, b"'=1+2"), (False, b"=1+2")])
def test_formula_cells_in_the_report(run, tmp_path, neutralize, cell):
    dest = str(tmp_path / "codes.csv")
    run(voucher_order_id=25261, dest=dest, columns=["id", "cert_organization"], neutralize_formulas=neutralize)
    assert read_bytes(dest).split(b"\r\n")[2] == b"49261," + cell


def test_expiring_within_days(run, digicert_sim):
    today = datetime.date.today()

    def code(code_id, status, days):
        end = (today + datetime.timedelta(days=days)).isoformat()
        return {"id": code_id, "value": f"V{code_id}", "product_name": "Basic OV", "status": status,
                "voucher_order_id": 777, "voucher_validity_end_date": end}  # fmt: skip

    digicert_sim.set_order(
        777, [code(1, "active", 10), code(2, "active", 40), code(3, "used", 5), code(4, "active", -1)]
    )
    result = run(voucher_order_id=777, expiring_within_days=30)
    summary = result["summary"]
    assert summary["expiring_within_days"] == 30
    assert [(item["id"], item["days_left"]) for item in summary["expiring"]] == [(4, -1), (1, 10)]
    assert all("value" not in item for item in summary["expiring"])


# ---- failures ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["25252abc", "../voucher", -5, 0, True])
def test_bad_ids_fail_before_any_request(run, digicert_sim, bad):
    result = run(voucher_order_id=[25252, bad])
    assert result["failed"] is True
    assert "is not a voucher order id" in result["msg"]
    assert digicert_sim.stats()["requests"] == 0


def test_bad_mode_fails_before_any_request(run, digicert_sim, tmp_path):
    result = run(voucher_order_id=25252, dest=str(tmp_path / "x.csv"), mode="u=rw")
    assert result["failed"] is True
    assert "mode must be an octal file mode such as '0600', not 'u=rw'" in result["msg"]
    assert digicert_sim.stats()["requests"] == 0


def test_unwritable_dest(run, tmp_path):
    dest = str(tmp_path / "missing" / "codes.csv")
    result = run(voucher_order_id=25252, dest=dest)
    assert result["failed"] is True
    assert result["dest"] == dest
    assert result["msg"].startswith(f"cannot write the report: cannot write {dest}")


def test_dest_that_is_a_directory(run, tmp_path):
    result = run(voucher_order_id=25252, dest=str(tmp_path))
    assert result["failed"] is True
    assert "it is a directory" in result["msg"]


def test_wrong_key_fails_with_digicerts_code_and_no_key(run, digicert_sim):
    wrong = "module-wrong-key-0a1b2c3d4e5f6a7b"
    result = run(voucher_order_id=25252, api_key=wrong, _ansible_verbosity=3)
    assert result["failed"] is True
    assert result["http_status"] == 403
    assert result["error_codes"] == ["access_denied|access_denied_invalid_key"]
    assert result["voucher_order_id"] == 25252
    assert "access_denied|access_denied_invalid_key" in result["msg"]
    assert "voucher order 25252" in result["msg"]
    assert len(result["request_log"]) == 1
    support.assert_no_key(result["_stdout"], wrong)
    support.assert_no_key(result["_stdout"], digicert_sim.api_key)


def test_missing_key_names_the_environment_variable(run):
    result = run(voucher_order_id=25252, api_key="")
    assert result["failed"] is True
    assert "DIGICERT_API_KEY" in result["msg"]


def test_key_and_url_from_the_environment(digicert_sim, capsys, monkeypatch):
    monkeypatch.setenv("DIGICERT_API_KEY", digicert_sim.api_key)
    monkeypatch.setenv("DIGICERT_API_URL", digicert_sim.base_url + "/")
    result = support.run_module(main, {"voucher_order_id": [25252]}, capsys)
    assert result["codes"] == samples.TYPED_ORDER_25252
    assert digicert_sim.api_key not in result["_stdout"]


def test_api_failure_during_a_streamed_report_leaves_dest_alone(run, digicert_sim, tmp_path):
    dest = tmp_path / "codes.csv"
    dest.write_bytes(b"previous report\r\n")
    digicert_sim.add_faults([{"order": 25256, "kind": "status:404", "times": 0}])
    result = run(voucher_order_id=[25252, 25256], dest=str(dest), return_codes=False)
    assert result["failed"] is True
    assert result["http_status"] == 404
    assert result["voucher_order_id"] == 25256
    assert dest.read_bytes() == b"previous report\r\n"
    assert sorted(os.listdir(tmp_path)) == ["codes.csv"]


def test_gateway_errors_fail_cleanly(run, digicert_sim):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:502", "times": 0}])
    result = run(voucher_order_id=25252, retries=1, _ansible_verbosity=3)
    assert result["failed"] is True
    assert result["http_status"] == 502
    assert result["error_codes"] == []
    assert "<html" not in result["msg"].lower()
    log = result["request_log"]
    assert [line.split(" ")[0] for line in log] == ["GET", "retry", "GET", "giving"]
    assert "-> HTTP 502 in " in log[0] and log[0].endswith("(attempt 1)")
    assert "-> HTTP 502 in " in log[2] and log[2].endswith("(attempt 2)")
    assert log[3].startswith("giving up after 2 attempts")


def test_request_log_only_at_verbosity_3(run, digicert_sim):
    quiet = run(voucher_order_id=25252, _ansible_verbosity=2)
    assert "request_log" not in quiet
    verbose = run(voucher_order_id=25252, _ansible_verbosity=3)
    assert len(verbose["request_log"]) == 1
    line = verbose["request_log"][0]
    assert line.startswith(f"GET {digicert_sim.base_url}/voucher/25252/download -> HTTP 200 in ")
    support.assert_no_key("\n".join(verbose["request_log"]), digicert_sim.api_key)


def test_bad_connection_options_fail_cleanly(run, digicert_sim):
    result = run(voucher_order_id=25252, max_concurrent_requests=0)
    assert result["failed"] is True
    assert "max_concurrent_requests must be between 1 and 32" in result["msg"]
    assert digicert_sim.stats()["requests"] == 0


def test_api_url_with_a_bad_port_fails_cleanly(run):
    result = run(voucher_order_id=25252, api_url="http://127.0.0.1:99999/services/v2")
    assert result["failed"] is True
    assert "api_url" in result["msg"]


def test_deeply_nested_answer_fails_cleanly(run):
    body = b'{"codes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with support.LoopbackServer(lambda handler: (200, [("Content-Type", "application/json")], body)) as server:
        result = run(voucher_order_id=778, api_url=server.base_url, api_key="loopback-key-1234567890")
    assert result["failed"] is True
    assert "voucher order 778" in result["msg"]


# ---- orders found by filters instead of ids ------------------------------------------------------------------------
# Expected from the simulator's data set: 25252 and 25256 are fully used, 25260 unused, 25261 partly used;
# DigiCert lists newest first, so 25256 (created 14:43) comes before 25252 (13:31 the same day).


def test_voucher_orders_by_filters_in_listing_order(run):
    result = run(voucher_orders={"codes_status": "used"})
    assert result["voucher_order_ids"] == [25256, 25252]
    assert result["codes"] == samples.TYPED_ORDER_25256 + samples.TYPED_ORDER_25252


def test_voucher_orders_with_code_filters(run):
    result = run(voucher_orders={"codes_status": ["unused"]}, status="active", fields=["id"])
    assert result["voucher_order_ids"] == [25260]
    assert [code["id"] for code in result["codes"]] == ORDER_25260_IDS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"voucher_order_id": 25252, "voucher_orders": {}}, "mutually exclusive"),
        ({}, "one of the following is required"),
        ({"voucher_orders": {"colour": "red"}}, "voucher_orders.colour is not a voucher order filter"),
    ],
)
def test_voucher_orders_errors(run, digicert_sim, args, message):
    result = run(**args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert digicert_sim.stats()["requests"] == 0


def test_without_requests_the_module_says_what_is_missing(run, monkeypatch):
    import ansible_collections.certops.digicert.plugins.modules.digicert_voucher_codes as module_source

    monkeypatch.setattr(module_source, "REQUESTS_IMPORT_ERROR", "ModuleNotFoundError: No module named 'requests'\n")
    result = run(voucher_order_id=25252)
    assert result["failed"] is True
    assert "requests" in result["msg"]


def test_an_empty_dest_is_an_error_not_a_silent_no_op(run, digicert_sim):
    result = run(voucher_order_id=25252, dest="")
    assert result["failed"] is True
    assert result["msg"].startswith("dest is empty")
    assert digicert_sim.stats()["requests"] == 0
