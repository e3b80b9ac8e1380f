"""Tests of the DigiCert simulator itself (tests/simulator/).

Expected values are written by hand: the code records and CSV rows are copied from DigiCert's page
"List codes for voucher order" (in tests/documented_samples.py); the order listing expectations follow the
simulator's documented data set.
"""

from __future__ import annotations

import csv
import http.client
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests import documented_samples as samples

SIM_DIR = Path(__file__).resolve().parents[2] / "simulator"
_spec = importlib.util.spec_from_file_location("digicert_simulator_control", SIM_DIR / "control.py")
control = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = control
_spec.loader.exec_module(control)

KEY = "sim-key-0123456789abcdef"
API = "/services/v2"

# ---- DigiCert's documentation (values copied by hand into tests/documented_samples.py) --------------------------

DOC_JSON_SAMPLE = {"codes": [samples.JSON_SAMPLE_49170]}

INVALID_KEY_BODY = {
    "errors": [
        {
            "code": "access_denied|access_denied_invalid_key",
            "message": "Access denied due to access_denied_invalid_key.",
        }
    ]
}
RATE_LIMIT_BODY = {
    "errors": [{"code": "request_limit_exceeded", "message": "Service unavailable, please limit request volume"}]
}
CODE_VALUE = re.compile(r"[A-Z2-7]{32}")


# ---- fixtures and helpers --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    with control.SimulatorProcess(lifetime=300, large_orders=[(90001, 2500)]) as process:
        yield process


@pytest.fixture
def fresh(sim):
    # A request left running by an earlier test (delay faults) would otherwise land in this test's counters.
    deadline = time.monotonic() + 10
    while sim.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.reset(orders=True)
    return sim


class Answer:
    def __init__(self, response, body):
        self.status = response.status
        self.headers = response.headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def call(sim, path, *, key=KEY, accept=None, method="GET", headers=None, timeout=10.0, conn=None):
    """One request to the simulator's API (PATH under /services/v2); http.client never goes through a proxy."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=timeout)
    all_headers = {"User-Agent": "simulator-tests/1.0"}
    if key is not None:
        all_headers["X-DC-DEVKEY"] = key
    if accept is not None:
        all_headers["Accept"] = accept
    all_headers.update(headers or {})
    try:
        conn.request(method, API + path, headers=all_headers)
        response = conn.getresponse()
        return Answer(response, response.read())
    finally:
        if own:
            conn.close()


def run_script(name, *args):
    """Run a script of tests/simulator; the caller checks the exit code."""
    command = [sys.executable, str(SIM_DIR / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def port_closed(port):
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z"


# ---- the documented samples ------------------------------------------------------------------------------------


def test_json_download_is_the_documented_sample(fresh):
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == DOC_JSON_SAMPLE
    record = answer.json()["codes"][0]
    assert list(record) == samples.FIELDS
    # The documentation's type drift is part of the sample and must survive.
    assert isinstance(record["certificate_order_id"], str)
    assert isinstance(record["server_licenses"], str)
    assert isinstance(record["no_of_wildcards"], int)
    assert b'"cert_validity_start_date":" "' in answer.body


def test_csv_download_of_25256_is_the_documented_rows(fresh):
    answer = call(fresh, "/voucher/25256/download", accept="text/csv")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/csv"
    assert answer.body == (
        samples.CSV_HEADER + "\n" + samples.CSV_SAMPLE_ROW_49178 + "\n" + samples.CSV_SAMPLE_ROW_49179 + "\n"
    ).encode("ascii")


def test_csv_of_25252_keeps_the_json_code_value(fresh):
    answer = call(fresh, "/voucher/25252/download", accept="text/csv")
    # The documentation's CSV sample spells the value differently from its JSON sample; the JSON one is served.
    expected_row = samples.CSV_SAMPLE_ROW_49170.replace(samples.CSV_VALUE_49170, samples.JSON_VALUE_49170)
    assert answer.body == (samples.CSV_HEADER + "\n" + expected_row + "\n").encode("ascii")


def test_accept_header_containing_text_csv_selects_csv(fresh):
    answer = call(fresh, "/voucher/25252/download", accept="text/csv;q=1.0, application/json;q=0.5")
    assert answer.headers["Content-Type"] == "text/csv"
    assert answer.body.startswith(b"id,value,")


def test_json_of_25256_keeps_string_types(fresh):
    codes = call(fresh, "/voucher/25256/download").json()["codes"]
    assert [c["id"] for c in codes] == [49178, 49179]
    assert [c["certificate_order_id"] for c in codes] == ["204928160", "204928161"]
    assert [c["server_licenses"] for c in codes] == ["1", "1"]
    assert [c["product_name"] for c in codes] == ["Basic OV", "Secure Site Pro EV SSL"]
    assert [c["no_of_fqdns"] for c in codes] == [5, 2]
    assert [c["cert_organization"] for c in codes] == ["Example Inc.", "Example Corp."]
    assert [c["cert_request_date"] for c in codes] == ["2022-03-04 10:48:47", "2022-03-04 10:49:38"]


def test_unused_order_25260(fresh):
    codes = call(fresh, "/voucher/25260/download").json()["codes"]
    assert len(codes) == 6
    assert {c["status"] for c in codes} == {"active"}
    assert sorted(c["product_name"] for c in codes) == ["Basic OV"] * 4 + ["Secure Site Pro EV SSL"] * 2
    assert all(CODE_VALUE.fullmatch(c["value"]) for c in codes)
    assert len({c["value"] for c in codes}) == 6
    for code in codes:
        assert list(code) == samples.FIELDS
        assert code["voucher_order_id"] == 25260
        assert code["certificate_order_id"] == " "
        for field in ("cert_request_date", "cert_validity_start_date", "cert_validity_end_date", "cert_common_name"):
            assert code[field] == " "
    assert sorted(c["cert_organization"] for c in codes) == [""] + [" "] * 5


def test_special_characters_in_25261_csv(fresh):
    answer = call(fresh, "/voucher/25261/download", accept="text/csv")
    lines = answer.body.decode("utf-8").split("\n")
    assert lines[0] == samples.CSV_HEADER
    assert lines[-1] == ""
    assert len(lines) == 6
    assert ',"Müller & Søn, ""Ærø""",shop.example.com,' in lines[1]
    assert ",=1+2,-cmd.example.com," in lines[2]
    assert not answer.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))
    assert [r["cert_organization"] for r in rows] == ['Müller & Søn, "Ærø"', "=1+2", " ", " "]
    assert [r["status"] for r in rows] == ["used", "used", "active", "active"]
    assert [r["cert_common_name"] for r in rows] == ["shop.example.com", "-cmd.example.com", " ", " "]
    # Same records in both formats.
    codes = call(fresh, "/voucher/25261/download").json()["codes"]
    assert [{k: str(v) for k, v in c.items()} for c in codes] == rows


# ---- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY + "x"])
def test_missing_or_wrong_key_is_403(fresh, key):
    answer = call(fresh, "/voucher/25252/download", key=key)
    assert answer.status == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == INVALID_KEY_BODY


def test_key_header_name_is_case_insensitive(fresh):
    answer = call(fresh, "/voucher/25252/download", key=None, headers={"x-dc-devkey": KEY})
    assert answer.status == 200


def test_unknown_order_is_404_not_found(fresh):
    answer = call(fresh, "/voucher/99999/download")
    assert answer.status == 404
    assert answer.json() == {"errors": [{"code": "not_found", "message": "The requested resource was not found."}]}
    assert call(fresh, "/voucher/99999").json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/voucher/abc/download", "/voucher/25252/download/", "/nothing", "/voucher/x"])
def test_bad_route_is_404_route(fresh, path):
    answer = call(fresh, path)
    assert answer.status == 404
    assert answer.json()["errors"][0]["code"] == "not_found|route"
    assert len(answer.json()["errors"]) == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(fresh, method):
    answer = call(fresh, "/voucher/25252/download", method=method)
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET"
    assert answer.json()["errors"][0]["code"] == "method_not_allowed"


def test_head_is_405_without_body(fresh):
    answer = call(fresh, "/voucher/25252/download", method="HEAD")
    assert answer.status == 405
    assert answer.body == b""


def test_rate_limit_after_100_requests_in_5_seconds():
    with control.SimulatorProcess(lifetime=60, enforce_rate_limit=True) as sim:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        started = time.monotonic()
        statuses = [call(sim, "/voucher/25252/download", conn=conn).status for attempt in range(100)]
        over = call(sim, "/voucher/25252/download", conn=conn)
        elapsed = time.monotonic() - started
        if elapsed >= 4.5:
            pytest.skip(f"machine too slow to send 101 requests within the 5 s window ({elapsed:.1f} s)")
        assert statuses == [200] * 100
        assert over.status == 429
        assert over.json() == RATE_LIMIT_BODY
        assert "Retry-After" not in over.headers
        # A wrong key is refused before the limiter: still 403, not 429.
        assert call(sim, "/voucher/25252/download", key="other", conn=conn).status == 403
        conn.close()
        assert sim.stats()["by_status"] == {"200": 100, "429": 1, "403": 1}
        sim.reset()
        assert call(sim, "/voucher/25252/download").status == 200


# ---- HTTP behaviour --------------------------------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(fresh):
    conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=10)
    try:
        first = call(fresh, "/voucher/25252/download", conn=conn)
        sock = conn.sock
        second = call(fresh, "/voucher/99999/download", conn=conn)
        third = call(fresh, "/voucher/25256/download", accept="text/csv", conn=conn)
        assert conn.sock is sock and sock is not None
        assert [first.status, second.status, third.status] == [200, 404, 200]
        for answer in (first, second, third):
            assert answer.headers["Content-Length"] == str(len(answer.body))
            assert answer.headers.get("Connection", "").lower() != "close"
    finally:
        conn.close()


def test_keep_alive_answers_are_not_delayed(fresh):
    # 50 answers take milliseconds; with Nagle's algorithm meeting delayed ACKs they took about 2 s.
    conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=10)
    started = time.monotonic()
    statuses = [call(fresh, "/voucher/25252/download", conn=conn).status for attempt in range(50)]
    elapsed = time.monotonic() - started
    conn.close()
    assert statuses == [200] * 50
    assert elapsed < 1.5


def test_tls(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    with control.SimulatorProcess(lifetime=60, tls_cert=cert, tls_key=key) as sim:
        assert sim.base_url == f"https://127.0.0.1:{sim.port}/services/v2"
        context = ssl.create_default_context(cafile=str(cert))
        conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=context, timeout=10)
        assert call(sim, "/voucher/25252/download", conn=conn).json() == DOC_JSON_SAMPLE
        assert call(sim, "/voucher/25252/download", conn=conn).status == 200
        conn.close()
        assert sim.stats()["requests"] == 2


# ---- faults ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_fault_5xx_is_an_html_page(fresh, status):
    fresh.add_faults([{"order": 25252, "kind": f"status:{status}"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == status
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.body.startswith(b"<!DOCTYPE html>")
    assert call(fresh, "/voucher/25252/download").status == 200


def test_fault_429_uses_digicert_body_without_retry_after(fresh):
    fresh.add_faults([{"order": None, "kind": "status:429"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 429
    assert answer.json() == RATE_LIMIT_BODY
    assert "Retry-After" not in answer.headers


def test_fault_429_with_retry_after(fresh):
    fresh.add_faults([{"kind": "status:429:retry-after=7"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == RATE_LIMIT_BODY


def test_fault_missing_permission(fresh):
    fresh.add_faults([{"kind": "status:403:missing_permission"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 403
    assert answer.json()["errors"][0]["code"] == "access_denied|missing_permission"


def test_fault_reset_closes_without_answer(fresh):
    fresh.add_faults([{"kind": "reset"}])
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        call(fresh, "/voucher/25252/download")
    assert call(fresh, "/voucher/25252/download").status == 200
    assert fresh.stats()["by_status"] == {"0": 1, "200": 1}


def test_fault_delay_triggers_client_timeout(fresh):
    fresh.add_faults([{"kind": "delay:1.5"}])
    with pytest.raises(TimeoutError):
        call(fresh, "/voucher/25252/download", timeout=0.5)
    fresh.add_faults([{"kind": "delay:0.5"}])
    started = time.monotonic()
    answer = call(fresh, "/voucher/25252/download")
    assert time.monotonic() - started >= 0.5
    assert answer.json() == DOC_JSON_SAMPLE


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [
        ("empty", 200, b""),
        ("no_codes", 200, b'{"result":[]}'),
        ("codes_not_list", 200, b'{"codes":{"a":1}}'),
        ("record_not_object", 200, b'{"codes":["x"]}'),
    ],
)
def test_fault_odd_bodies(fresh, kind, status, body):
    fresh.add_faults([{"kind": kind}])
    answer = call(fresh, "/voucher/25252/download")
    assert (answer.status, answer.body) == (status, body)
    assert answer.headers["Content-Length"] == str(len(body))


def test_fault_html_page_with_200(fresh):
    fresh.add_faults([{"kind": "html"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html"
    assert b"<html>" in answer.body


def test_fault_truncated(fresh):
    full = call(fresh, "/voucher/25256/download").body
    fresh.add_faults([{"kind": "truncated"}])
    answer = call(fresh, "/voucher/25256/download")
    assert answer.status == 200
    assert answer.body == full[: len(full) // 2]
    with pytest.raises(ValueError):
        json.loads(answer.body)


def test_fault_bad_integer(fresh):
    fresh.add_faults([{"kind": "bad_integer", "order": 25252}])
    codes = call(fresh, "/voucher/25252/download").json()["codes"]
    assert len(codes) == 1
    assert codes[0]["id"] == "abc"
    assert codes[0]["value"] == "ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS"


def test_fault_multi_error(fresh):
    fresh.add_faults([{"kind": "multi_error"}])
    answer = call(fresh, "/voucher/25252/download")
    assert answer.status == 400
    errors = answer.json()["errors"]
    assert [e["code"] for e in errors] == ["invalid_filter|codes_status", "invalid_param|limit"]
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)


def test_fault_huge_streams_a_valid_body(fresh):
    fresh.add_faults([{"kind": "huge:2"}])
    answer = call(fresh, "/voucher/25252/download", timeout=30)
    assert answer.status == 200
    assert int(answer.headers["Content-Length"]) == len(answer.body)
    assert 2 * 1024 * 1024 - 1024 < len(answer.body) <= 2 * 1024 * 1024
    codes = answer.json()["codes"]
    assert len(codes) > 1000
    assert all(list(code) == samples.FIELDS for code in codes)


def test_faults_match_order_count_and_forever(fresh):
    fresh.add_faults(
        [
            {"order": 25256, "kind": "status:503", "times": 2},
            {"order": 25260, "kind": "status:500", "times": 0},
        ]
    )
    assert call(fresh, "/voucher/25252/download").status == 200
    assert call(fresh, "/voucher").status == 200
    assert [call(fresh, "/voucher/25256/download").status for attempt in range(3)] == [503, 503, 200]
    assert [call(fresh, "/voucher/25260").status for attempt in range(4)] == [500] * 4
    assert fresh.pending_faults() == [{"order": 25260, "kind": "status:500", "times": 0}]
    fresh.reset()
    assert call(fresh, "/voucher/25260").status == 200


def test_faults_fire_before_the_key_check(fresh):
    fresh.add_faults([{"kind": "status:502"}])
    assert call(fresh, "/voucher/25252/download", key=None).status == 502


@pytest.mark.parametrize(
    "fault",
    [{"kind": "nope"}, {"kind": "status:200"}, {"kind": "huge:5000"}, {"kind": "reset", "times": -1}, "reset"],
)
def test_invalid_faults_are_refused(fresh, fault):
    with pytest.raises(control.SimulatorError, match="HTTP 400"):
        fresh.add_faults([fault])
    assert fresh.pending_faults() == []


# ---- voucher orders --------------------------------------------------------------------------------------------


def order_ids(sim, query=""):
    answer = call(sim, "/voucher" + query)
    assert answer.status == 200, answer.body
    return [order["id"] for order in answer.json()["voucher_orders"]]


def test_list_orders_default_sort_and_page(fresh):
    body = call(fresh, "/voucher").json()
    assert body["page"] == {"total": 6, "limit": 1000, "offset": 0}
    assert [o["id"] for o in body["voucher_orders"]] == [25261, 25260, 90001, 25270, 25256, 25252]


def test_list_orders_record_shape(fresh):
    orders = {o["id"]: o for o in call(fresh, "/voucher").json()["voucher_orders"]}
    assert orders[25252] == {
        "id": 25252,
        "name": "Example Inc. Basic OV vouchers",
        "status": "completed",
        "product_name": "Basic OV",
        "product_name_id": "ssl_basic",
        "products": [{"name_id": "ssl_basic", "name": "Basic OV"}],
        "created_date": "2022-03-03 13:31:03",
        "expiration_date": "2023-03-03",
        "codes_count": 1,
        "codes_used_count": 1,
        "codes_status": "used",
    }
    assert (orders[25261]["codes_count"], orders[25261]["codes_used_count"]) == (4, 2)
    assert orders[90001]["codes_count"] == 2500
    assert orders[90001]["codes_used_count"] == 833


def test_list_orders_paging(fresh):
    assert order_ids(fresh, "?limit=2") == [25261, 25260]
    assert order_ids(fresh, "?limit=2&offset=2") == [90001, 25270]
    assert order_ids(fresh, "?limit=2&offset=4") == [25256, 25252]
    assert order_ids(fresh, "?limit=2&offset=6") == []
    body = call(fresh, "/voucher?limit=4&offset=3").json()
    assert body["page"] == {"total": 6, "limit": 4, "offset": 3}
    assert order_ids(fresh, "?sort=id") == [25252, 25256, 25260, 25261, 25270, 90001]
    assert order_ids(fresh, "?sort=-id&limit=1") == [90001]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filters[status]=canceled", [25270]),
        ("filters[status]=completed&sort=id", [25252, 25256, 25260, 25261, 90001]),
        ("filters[codes_status]=none", [25270]),
        ("filters[codes_status]=unused", [25260]),
        ("filters[codes_status]=partial", [25261, 90001]),
        ("filters[codes_status]=used", [25256, 25252]),
        ("filters[product_name_id]=ssl_ev_securesite_pro", [25261, 25260, 90001, 25256]),
        ("filters[name]=SHOP", [25261]),
        ("filters[created_date]=2022-03-03", [25256, 25252]),
        ("filters[created_date]=2023-01-01...2026-06-30", [25260, 90001, 25270]),
        ("filters[expiration_date]=2023-03-03", [25256, 25252]),
        ("filters%5Bcodes_status%5D=used&sort=created_date", [25252, 25256]),
    ],
)
def test_list_orders_filters(fresh, query, expected):
    assert order_ids(fresh, "?" + query) == expected


def test_list_orders_bad_parameters_give_all_errors(fresh):
    answer = call(fresh, "/voucher?limit=1001&offset=-1&filters[codes_status]=maybe&filters[created_date]=2022")
    assert answer.status == 400
    assert [e["code"] for e in answer.json()["errors"]] == [
        "invalid_param|limit",
        "invalid_param|offset",
        "invalid_filter|codes_status",
        "invalid_filter|created_date",
    ]
    assert call(fresh, "/voucher?sort=color").json()["errors"][0]["code"] == "invalid_param|sort"
    assert call(fresh, "/voucher?limit=0").status == 400


def test_order_info_has_codes(fresh):
    body = call(fresh, "/voucher/25256").json()
    assert body["id"] == 25256
    assert body["codes_status"] == "used"
    assert [c["id"] for c in body["codes"]] == [49178, 49179]
    assert body["codes"][0]["certificate_order_id"] == "204928160"
    assert call(fresh, "/voucher/25252").json()["codes"] == DOC_JSON_SAMPLE["codes"]


def test_large_order_is_deterministic_and_fast_to_serve(fresh):
    answer = call(fresh, "/voucher/90001/download")
    codes = answer.json()["codes"]
    assert len(codes) == 2500
    assert codes[0]["id"] == 90001000001 and codes[-1]["id"] == 90001002500
    assert all(CODE_VALUE.fullmatch(c["value"]) for c in codes)
    assert len({c["value"] for c in codes}) == 2500
    assert {c["status"] for c in codes} == {"used", "active"}
    assert {c["product_name"] for c in codes} == {"Basic OV", "Secure Site Pro EV SSL"}
    assert call(fresh, "/voucher/90001/download").body == answer.body
    csv_answer = call(fresh, "/voucher/90001/download", accept="text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.body.decode("utf-8"))))
    assert rows == [{k: str(v) for k, v in c.items()} for c in codes]
    # Another process builds the same bytes.
    with control.SimulatorProcess(lifetime=30, large_orders=[(90001, 2500)]) as other:
        assert call(other, "/voucher/90001/download").body == answer.body


# ---- control endpoints -----------------------------------------------------------------------------------------


def test_stats_count_api_requests_only(fresh):
    call(fresh, "/voucher/25252/download")
    call(fresh, "/voucher/25252/download", accept="text/csv")
    call(fresh, "/voucher/99999/download")
    call(fresh, "/voucher/25252/download", key=None)
    fresh.stats()
    stats = fresh.stats()
    assert stats["requests"] == 4
    assert stats["by_path"] == {"/services/v2/voucher/25252/download": 3, "/services/v2/voucher/99999/download": 1}
    assert stats["by_status"] == {"200": 2, "404": 1, "403": 1}
    assert stats["max_concurrent"] == 1
    fresh.reset()
    assert fresh.stats()["requests"] == 0


def test_max_concurrent_counts_parallel_requests():
    with control.SimulatorProcess(lifetime=60, latency_ms=800) as sim:
        barrier = threading.Barrier(4)
        statuses = []

        def worker():
            barrier.wait()
            statuses.append(call(sim, "/voucher/25252/download").status)

        threads = [threading.Thread(target=worker) for index in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert statuses == [200] * 4
        assert sim.stats()["max_concurrent"] == 4


def test_set_order_serves_records_as_given(fresh):
    odd = [
        {"id": 1, "value": "A" * 32, "status": "used", "certificate_order_id": 204928999, "server_licenses": None},
        {"id": "2", "value": "B" * 32, "status": "active", "no_of_wildcards": "0"},
    ]
    fresh.set_order(777, odd, order={"name": "Injected"})
    assert call(fresh, "/voucher/777/download").json() == {"codes": odd}
    csv_body = call(fresh, "/voucher/777/download", accept="text/csv").body.decode("utf-8")
    assert csv_body.split("\n")[1] == "1," + "A" * 32 + ",,,,,,,used,,,,,,,,204928999,,,,"
    listed = {o["id"]: o for o in call(fresh, "/voucher").json()["voucher_orders"]}
    assert listed[777]["name"] == "Injected"
    assert listed[777]["codes_status"] == "partial"
    fresh.set_order(25252, [])
    assert call(fresh, "/voucher/25252/download").json() == {"codes": []}
    assert call(fresh, "/voucher/25252/download", accept="text/csv").body == (samples.CSV_HEADER + "\n").encode()
    fresh.reset(orders=True)
    assert call(fresh, "/voucher/777/download").status == 404
    assert call(fresh, "/voucher/25252/download").json() == DOC_JSON_SAMPLE


def test_request_log_never_holds_the_key(tmp_path):
    log = tmp_path / "requests.jsonl"
    with control.SimulatorProcess(lifetime=60, request_log=log) as sim:
        call(sim, "/voucher/25252/download", accept="text/csv")
        call(sim, "/voucher/25252/download", key=None)
        sim.stats()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == [
        {
            "path": "/services/v2/voucher/25252/download",
            "method": "GET",
            "accept": "text/csv",
            "status": 200,
            "user_agent": "simulator-tests/1.0",
            "has_key": True,
        },
        {
            "path": "/services/v2/voucher/25252/download",
            "method": "GET",
            "accept": None,
            "status": 403,
            "user_agent": "simulator-tests/1.0",
            "has_key": False,
        },
    ]
    assert KEY not in log.read_text()


# ---- process life cycle ----------------------------------------------------------------------------------------


# Refused before any socket is made: nothing is bound or sent to these addresses.
@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com", "::"])  # noqa: S104
def test_refuses_non_loopback_hosts(host, tmp_path):
    result = run_script("digicert_simulator.py", "--host", host, "--port-file", str(tmp_path / "p"))
    assert result.returncode == 2
    assert "refusing to bind" in result.stderr
    assert not (tmp_path / "p").exists()


def test_stop_kills_by_pid_and_cleans_up():
    sim = control.SimulatorProcess(lifetime=60).start()
    pid, port, state_dir = sim.pid, sim.port, sim.state_dir
    assert (state_dir / "pid").read_text().strip() == str(pid)
    assert call(sim, "/voucher/25252/download").status == 200
    sim.stop()
    assert process_gone(pid)
    assert port_closed(port)
    assert not state_dir.exists()
    sim.stop()


def test_sigterm_removes_pid_and_port_files(tmp_path):
    sim = control.SimulatorProcess(lifetime=60, state_dir=tmp_path).start()
    os.kill(sim.pid, 15)
    assert sim._popen.wait(10) == 0
    assert not (tmp_path / "pid").exists()
    assert not (tmp_path / "port").exists()
    sim.stop()


def test_lifetime_ends_the_process(tmp_path):
    sim = control.SimulatorProcess(lifetime=1, state_dir=tmp_path).start()
    assert sim._popen.wait(10) == 0
    sim.stop()


def test_cli_start_stats_stop(tmp_path):
    state = str(tmp_path / "state")
    started = run_script("control.py", "start", "--state-dir", state, "--lifetime", "60")
    assert started.returncode == 0, started.stderr
    port = int((tmp_path / "state" / "port").read_text())
    pid = int((tmp_path / "state" / "pid").read_text())
    assert started.stdout.strip() == f"http://127.0.0.1:{port}/services/v2"
    assert json.loads(run_script("control.py", "stats", "--state-dir", state).stdout)["requests"] == 0
    again = run_script("control.py", "start", "--state-dir", state)
    assert again.returncode == 1 and "already running" in again.stderr
    assert run_script("control.py", "stop", "--state-dir", state).returncode == 0
    deadline = time.monotonic() + 5
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_gone(pid)
    assert port_closed(port)
    assert run_script("control.py", "stop", "--state-dir", state).returncode == 0


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 cannot be bound here")
    with control.SimulatorProcess(host="::1", lifetime=30) as sim:
        assert sim.base_url == f"http://[::1]:{sim.port}/services/v2"
        assert sim.stats()["requests"] == 0
        conn = http.client.HTTPConnection("::1", sim.port, timeout=10)
        assert call(sim, "/voucher/25252/download", conn=conn).json() == DOC_JSON_SAMPLE
        conn.close()
