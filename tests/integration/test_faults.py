"""Every fault kind of the DigiCert simulator, through real ansible-playbook runs (issue 5: "every case has an
integration test against the simulator").

What is retried: 429 (honouring Retry-After), 502, 503, 504, a reset connection and a timeout, within ``retries``
and ``max_retry_wait``. Everything else fails the task at once with a message naming the voucher order, the HTTP
status and DigiCert's error codes. docs/faults.md has the table.
"""

from __future__ import annotations

import os

import pytest

from tests import documented_samples as samples


def path_of(order_id):
    return f"/services/v2/voucher/{order_id}/download"


def add_order(sim, order_id, record_id):
    """Give a made-up order real content: DigiCert's JSON sample record, exactly as documented, as RECORD_ID."""
    sim.set_order(order_id, [dict(samples.JSON_SAMPLE_49170, id=record_id, voucher_order_id=order_id)])


def attempts(result):
    """Requests the module made, from its -vvv request_log (one line per answered attempt)."""
    return [line for line in result["request_log"] if line.startswith("GET ")]


# ---- retried ---------------------------------------------------------------------------------------------------


def test_transient_faults_are_retried_then_succeed(play, sim, out):
    for order_id, record_id in ((7001, 70011), (7002, 70021), (7003, 70031), (7004, 70041)):
        add_order(sim, order_id, record_id)
    sim.add_faults(
        [
            {"order": 25252, "kind": "status:429", "times": 2},
            {"order": 25256, "kind": "status:429:retry-after=1", "times": 1},
            {"order": 25260, "kind": "status:502", "times": 1},
            {"order": 25261, "kind": "status:503", "times": 1},
            {"order": 25270, "kind": "status:504", "times": 1},
            {"order": 7001, "kind": "reset", "times": 1},
            {"order": 7002, "kind": "delay:2.5", "times": 1},
            {"order": 7003, "kind": "status:503", "times": 1},
            {"order": 7004, "kind": "status:429", "times": 1},
            {"order": 7004, "kind": "reset", "times": 1},
        ]
    )
    run = play.run("module/faults_retried.yml", extra_vars={"out": str(out)}, verbosity=3)
    assert run.rc == 0, run

    no_header = run.ok("429 without Retry-After")
    assert [code["id"] for code in no_header["codes"]] == [49170]
    log = "\n".join(no_header["request_log"])
    assert log.count("HTTP 429") == 2 and log.count("HTTP 200") == 1, log
    assert "retry 1/3" in log and "retry 2/3" in log, log

    honoured = run.ok("429 with Retry-After")
    assert [code["id"] for code in honoured["codes"]] == [49178, 49179]
    assert "retry 1/3 in 1.00s" in "\n".join(honoured["request_log"]), honoured["request_log"]

    gateway = run.ok("502 503 504 in parallel")
    assert gateway["voucher_order_ids"] == [25260, 25261, 25270]
    assert gateway["count"] == 6 + 4 + 0
    assert run.ok("connection reset")["codes"][0]["id"] == 70011
    timeout = run.ok("timeout")
    assert timeout["codes"][0]["id"] == 70021
    assert "timeout" in "\n".join(timeout["request_log"]), timeout["request_log"]
    assert run.ok("streamed 503")["count"] == 1
    assert "70031,ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS" in (out / "streamed.csv").read_text(encoding="utf-8")
    assert run.ok("lookup 429 and reset")["msg"] == [70041]

    by_path = sim.stats()["by_path"]
    assert by_path == {
        path_of(25252): 3,
        path_of(25256): 2,
        path_of(25260): 2,
        path_of(25261): 2,
        path_of(25270): 2,
        path_of(7001): 2,
        path_of(7002): 2,
        path_of(7003): 2,
        path_of(7004): 3,
    }
    assert sim.stats()["faults_pending"] == 0


# ---- not retried, or retried until the budget is spent -----------------------------------------------------------


FAILING_FAULTS = [
    (8001, "status:403:missing_permission"),
    (8002, "html"),
    (8003, "empty"),
    (8004, "truncated"),
    (8005, "no_codes"),
    (8006, "codes_not_list"),
    (8007, "record_not_object"),
    (8008, "bad_integer"),
    (8009, "multi_error"),
    (8010, "status:500"),
    (8011, "status:502"),
    (8012, "status:429"),
    (8013, "status:429:retry-after=30"),
    # Content-Length says 300 MiB, over the 256 MiB cap: refused before the body is read, so this stays cheap.
    (8014, "huge:300"),
    (8015, "reset"),
    (8020, "html"),
    (8021, "bad_integer"),
    (8022, "empty"),
    (25260, "truncated"),
]


def test_faults_that_fail_the_task(play, sim, out, kept_file):
    sim.add_faults([{"order": order_id, "kind": kind, "times": 0} for order_id, kind in FAILING_FAULTS])
    report = kept_file(out / "report.csv", samples.REPORT_25252, 0o600)

    run = play.run("module/faults_failing.yml", extra_vars={"out": str(out)})
    assert run.rc == 0, run

    def failure(task, order_id, status):
        result = run.failed(task)
        assert f"voucher order {order_id}" in result["msg"], result["msg"]
        assert result["http_status"] == status, result
        return result

    permission = failure("missing permission", 8001, 403)
    assert permission["error_codes"] == ["access_denied|missing_permission"]
    assert "access_denied|missing_permission" in permission["msg"]
    assert "not valid JSON" in failure("html with 200", 8002, 200)["msg"]
    assert "empty" in failure("empty body", 8003, 200)["msg"]
    assert "not valid JSON" in failure("truncated json", 8004, 200)["msg"]
    assert "no 'codes' list" in failure("no codes", 8005, 200)["msg"]
    assert "'codes' should be a list" in failure("codes not a list", 8006, 200)["msg"]
    assert "should be an object" in failure("record not an object", 8007, 200)["msg"]
    assert "field 'id' should be an integer" in failure("integer field not a number", 8008, 200)["msg"]

    several = failure("several errors", 8009, 400)
    assert several["error_codes"] == ["invalid_filter|codes_status", "invalid_param|limit"]
    assert "Invalid value for filter codes_status." in several["msg"]
    assert "Invalid value for limit" in several["msg"]

    page = failure("500 html page", 8010, 500)["msg"]
    assert "text/html" in page and "500 Internal Server Error" in page, page
    assert "<" not in page, "markup of the error page should be stripped"
    assert "bad gateway" in failure("502 exhausted", 8011, 502)["msg"]
    limited = failure("429 exhausted", 8012, 429)
    assert "rate limited" in limited["msg"] and "request_limit_exceeded" in limited["msg"]
    assert failure("Retry-After beyond max_retry_wait", 8013, 429)["error_codes"] == ["request_limit_exceeded"]
    assert "256 MiB" in failure("body over the size cap", 8014, 200)["msg"]
    assert "reset" in failure("reset exhausted", 8015, None)["msg"]
    assert "not_found" in failure("unknown order not retried", 8016, 404)["msg"]

    assert "header" in failure("streamed html with 200", 8020, 200)["msg"]
    assert "field 'id' should be an integer" in failure("streamed integer field not a number", 8021, 200)["msg"]
    assert "empty" in failure("streamed empty body", 8022, 200)["msg"]
    failure("report kept after truncated json", 8004, 200)
    assert "cells" in failure("report kept after a stream broke off midway", 25260, 200)["msg"]
    failure("report kept after the second order failed", 8010, 500)

    # A failed run leaves the previous report exactly as it was, and no temporary file beside it.
    report.assert_untouched()
    assert os.listdir(out) == ["report.csv"]

    by_path = sim.stats()["by_path"]
    once = [8001, 8002, 8003, 8005, 8006, 8007, 8008, 8009, 8013, 8014, 8016, 8020, 8021, 8022, 25260, 25256]
    assert {order_id: by_path.get(path_of(order_id)) for order_id in once} == dict.fromkeys(once, 1)
    assert by_path[path_of(8004)] == 2  # two tasks, no retry
    assert by_path[path_of(8010)] == 2  # two tasks, no retry
    assert by_path[path_of(8011)] == 3  # 1 + retries 2
    assert by_path[path_of(8012)] == 3  # 1 + retries 2
    assert by_path[path_of(8015)] == 2  # 1 + retries 1
    assert "Traceback" not in run.output


def test_streamed_csv_cut_in_its_header_fails(play, sim, out):
    """The JSON path rejects a truncated body; the CSV path must not turn one into a shorter (here empty) report.

    Order 25252's CSV cut in half ends inside the header row: what is left still has the id and value columns
    and no rows.
    """
    sim.add_faults([{"order": 25252, "kind": "truncated", "times": 0}])
    run = play.run("module/stream_one.yml", extra_vars={"out": str(out), "order": 25252})
    assert "voucher order 25252" in run.failed("streamed report")["msg"]
    assert not (out / "report.csv").exists()


# ---- TLS -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 signed by it, made for this test run only, and an unrelated CA."""
    from tests.private_ca import write_private_ca

    paths = write_private_ca(tmp_path_factory.mktemp("tls"), "certops.digicert integration test")
    return {"ca": paths["ca"], "cert": paths["server"], "key": paths["server-key"], "other_ca": paths["other-ca"]}


@pytest.fixture
def tls_sim(tls_files):
    """A simulator of this test's own serving HTTPS with the certificate for 127.0.0.1 that tls_files' CA signed."""
    from tests.simulator.control import SimulatorProcess

    with SimulatorProcess(tls_cert=tls_files["cert"], tls_key=tls_files["key"], ca_file=tls_files["ca"]) as process:
        yield process


def test_tls_with_a_private_ca(runner, tls_files, tls_sim):
    assert tls_sim.base_url.startswith("https://127.0.0.1:")
    runner.use_api(tls_sim)
    run = runner.run("module/tls.yml", extra_vars={"ca_file": str(tls_files["ca"])})
    assert run.rc == 0, run
    untrusted = run.failed("untrusted CA")["msg"]
    assert "TLS verification of 127.0.0.1 failed" in untrusted and "ca_path" in untrusted, untrusted
    assert run.ok("ca_path")["codes"][0]["id"] == 49170
    assert [code["id"] for code in run.ok("validate_certs off")["codes"]] == [49178, 49179]
    assert "TLS verification of 127.0.0.1 failed" in run.failed("lookup untrusted CA")["msg"]
    assert run.ok("lookup ca_path")["msg"] == [49250, 49251, 49252, 49253, 49254, 49255]
    assert "Traceback" not in run.output
    # Failed handshakes never become HTTP requests: only the three verified or unverified successes count.
    assert tls_sim.stats()["requests"] == 3


def test_ca_path_wins_over_a_ca_bundle_in_the_environment(runner, tls_files, tls_sim):
    runner.use_api(tls_sim)
    bundle = str(tls_files["other_ca"])
    run = runner.run(
        "module/tls.yml",
        extra_vars={"ca_file": str(tls_files["ca"])},
        env={"REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle},
    )
    assert run.ok("ca_path")["codes"][0]["id"] == 49170
    assert run.ok("lookup ca_path")["msg"] == [49250, 49251, 49252, 49253, 49254, 49255]


# ---- pacing ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_requests_are_paced_under_the_rate_limit(runner):
    """101 orders in one task against a simulator that enforces 100 requests per 5 s per key (retries 0).

    The first 100 requests reach the simulator 50 ms after being sent (latency under load) and the 101st at once,
    as happens on a real network. A client that counts the window from the answers it got stays under the limit.
    """
    from tests.simulator.control import SimulatorProcess

    with SimulatorProcess(enforce_rate_limit=True) as limited:
        orders = list(range(6000, 6101))
        for order_id in orders:
            add_order(limited, order_id, order_id * 10)
        limited.add_faults([{"order": None, "kind": "delay:0.05", "times": 100}])
        runner.use_api(limited)
        run = runner.run("module/paced.yml", extra_vars={"orders": orders})
        stats = limited.stats()
        assert stats["by_status"] == {"200": 101}, stats["by_status"]
        result = run.ok("many orders")
        assert [code["id"] for code in result["codes"]] == [order_id * 10 for order_id in orders]
        assert stats["requests"] == 101
        # The 101st request had to wait for the 5-second window to roll on.
        assert run.elapsed >= 4.5, run.elapsed
