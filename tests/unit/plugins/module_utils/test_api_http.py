"""Unit tests of plugins/module_utils/_api.py over real HTTP: the DigiCert simulator and tiny servers of our own.

Every server runs on 127.0.0.1 (or 127.0.0.2 for "another host"); nothing leaves loopback.
"""

from __future__ import annotations

import email.utils
import json
import socket
import time

import certops_unit_support as support
import pytest
import yaml
from ansible_collections.certops.digicert.plugins.module_utils import _api
from ansible_collections.certops.digicert.plugins.module_utils._api import (
    ConnectionSettings,
    DigiCertAPIError,
    DigiCertClient,
)

from tests import documented_samples as samples

WRONG_KEY = "wrong-key-fedcba9876543210"


def galaxy_version() -> str:
    with open(support.REPO / "galaxy.yml", encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)["version"])


class Recorder:
    """A client with a recording sleep and a log sink, closed at the end of the test."""

    def __init__(self, base_url: str, api_key: str, max_response_bytes: int | None = None, **overrides) -> None:
        self.sleep = support.RecordingSleep()
        self.log: list[str] = []
        extra = {} if max_response_bytes is None else {"max_response_bytes": max_response_bytes}
        self.settings = support.settings_for(base_url, api_key, **overrides)
        self.client = DigiCertClient(self.settings, log=self.log.append, sleep=self.sleep, **extra)

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def recorder():
    made: list[Recorder] = []

    def make(base_url: str, api_key: str, **options) -> Recorder:
        made.append(Recorder(base_url, api_key, **options))
        return made[-1]

    yield make
    for item in made:
        item.close()


def assert_clean_message(text: str) -> None:
    """What a person reads: no traceback, no markup, no Python object addresses."""
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "<" not in text and ">" not in text
    assert " object at 0x" not in text


# ---- the documented samples ------------------------------------------------------------------------------------


def test_fetch_codes_returns_the_documented_samples_typed(digicert_sim, recorder):
    client = recorder(digicert_sim.base_url, digicert_sim.api_key).client
    assert client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert client.fetch_codes(25256) == samples.TYPED_ORDER_25256


def test_requests_send_user_agent_accept_and_key(digicert_sim, recorder):
    client = recorder(digicert_sim.base_url, digicert_sim.api_key).client
    client.fetch_codes(25252)
    list(client.iter_codes_csv(25256))
    logged = digicert_sim.requests()
    assert [(entry["method"], entry["path"], entry["status"]) for entry in logged] == [
        ("GET", "/services/v2/voucher/25252/download", 200),
        ("GET", "/services/v2/voucher/25256/download", 200),
    ]
    assert [entry["accept"] for entry in logged] == ["application/json", "text/csv"]
    for entry in logged:
        assert entry["has_key"] is True
        assert entry["user_agent"].startswith("certops.digicert/")
        assert galaxy_version() in entry["user_agent"]


def test_headers_on_the_wire(recorder):
    body = json.dumps({"codes": support.documented_json_records()}).encode()
    with support.LoopbackServer(lambda handler: (200, [("Content-Type", "application/json")], body)) as server:
        client = recorder(server.base_url, "loopback-key-1234567890").client
        assert client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    headers = {name.lower(): value for name, value in server.received[0]["headers"].items()}
    assert server.received[0]["path"] == "/services/v2/voucher/25252/download"
    assert headers["x-dc-devkey"] == "loopback-key-1234567890"
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"certops.digicert/{galaxy_version()} (Ansible collection)"


@pytest.mark.parametrize("suffix", ["", "/", "//"])
def test_base_url_with_and_without_trailing_slash(digicert_sim, suffix):
    options = {
        "api_key": digicert_sim.api_key,
        "api_url": digicert_sim.base_url + suffix,
        "platform": "us",
        "timeout": 5,
        "validate_certs": True,
        "ca_path": None,
        "retries": 0,
        "max_retry_wait": 0,
        "max_concurrent_requests": 2,
    }
    settings = ConnectionSettings.from_options(options.get)
    with DigiCertClient(settings) as client:
        assert client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert [entry["path"] for entry in digicert_sim.requests()] == ["/services/v2/voucher/25252/download"]


@pytest.mark.parametrize("order_id", [25252, 25256, 25260, 25261, 25270, support.LARGE_ORDER_ID])
def test_iter_codes_csv_streams_the_same_records_as_fetch_codes(digicert_sim, recorder, order_id):
    client = recorder(digicert_sim.base_url, digicert_sim.api_key).client
    streamed = client.iter_codes_csv(order_id)
    assert not isinstance(streamed, list)
    assert list(streamed) == client.fetch_codes(order_id)


def test_large_order_is_complete_and_in_order(digicert_sim, recorder):
    codes = recorder(digicert_sim.base_url, digicert_sim.api_key).client.fetch_codes(support.LARGE_ORDER_ID)
    first = support.LARGE_ORDER_ID * 1_000_000
    assert [code["id"] for code in codes] == list(range(first + 1, first + support.LARGE_ORDER_SIZE + 1))


def test_csv_of_special_characters(digicert_sim, recorder):
    codes = list(recorder(digicert_sim.base_url, digicert_sim.api_key).client.iter_codes_csv(25261))
    assert [code["cert_organization"] for code in codes] == ['Müller & Søn, "Ærø"', "=1+2", None, None]
    assert codes[1]["cert_common_name"] == "-cmd.example.com"


# ---- several orders --------------------------------------------------------------------------------------------


def test_fetch_codes_of_orders_keeps_the_order_of_the_ids(digicert_sim, recorder):
    client = recorder(digicert_sim.base_url, digicert_sim.api_key, max_workers=4).client
    result = client.fetch_codes_of_orders([25256, 25270, 25252])
    assert result == [samples.TYPED_ORDER_25256, [], samples.TYPED_ORDER_25252]


def test_fetch_codes_of_orders_runs_in_parallel_within_the_bound(digicert_sim, recorder):
    ids = [25252, 25256, 25260, 25261, 25270, 25252]
    digicert_sim.add_faults([{"order": None, "kind": "delay:0.4", "times": len(ids)}])
    client = recorder(digicert_sim.base_url, digicert_sim.api_key, max_workers=3).client
    started = time.monotonic()
    result = client.fetch_codes_of_orders(ids)
    elapsed = time.monotonic() - started
    assert [codes[0]["voucher_order_id"] if codes else None for codes in result] == [
        25252,
        25256,
        25260,
        25261,
        None,
        25252,
    ]
    stats = digicert_sim.stats()
    assert stats["requests"] == len(ids)
    assert 2 <= stats["max_concurrent"] <= 3
    # Six answers of 0.4 s each, three at a time: about 0.8 s, far below the 2.4 s of one at a time.
    assert elapsed < 1.8


@pytest.mark.parametrize("workers", [1, 2])
def test_fetch_codes_of_orders_never_exceeds_max_concurrent_requests(digicert_sim, recorder, workers):
    ids = [25252, 25256, 25260, 25261]
    digicert_sim.add_faults([{"order": None, "kind": "delay:0.15", "times": len(ids)}])
    recorder(digicert_sim.base_url, digicert_sim.api_key, max_workers=workers).client.fetch_codes_of_orders(ids)
    assert digicert_sim.stats()["max_concurrent"] == workers


def test_fetch_codes_of_orders_raises_the_first_failure_in_id_order(digicert_sim, recorder):
    digicert_sim.add_faults(
        [
            {"order": 25261, "kind": "status:404", "times": 1},
            {"order": 25256, "kind": "status:403:missing_permission", "times": 1},
        ]
    )
    client = recorder(digicert_sim.base_url, digicert_sim.api_key, max_workers=4).client
    with pytest.raises(DigiCertAPIError) as caught:
        client.fetch_codes_of_orders([25252, 25256, 25261])
    assert caught.value.voucher_order_id == 25256
    assert caught.value.status == 403


def test_fetch_codes_of_one_order(digicert_sim, recorder):
    client = recorder(digicert_sim.base_url, digicert_sim.api_key).client
    assert client.fetch_codes_of_orders([25252]) == [samples.TYPED_ORDER_25252]
    assert client.fetch_codes_of_orders([]) == []


# ---- DigiCert's errors -----------------------------------------------------------------------------------------


def test_wrong_key_is_403_with_digicerts_code_and_not_retried(digicert_sim, recorder):
    run = recorder(digicert_sim.base_url, WRONG_KEY)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    error = caught.value
    assert error.status == 403
    assert error.error_codes == ["access_denied|access_denied_invalid_key"]
    assert error.errors == [
        {
            "code": "access_denied|access_denied_invalid_key",
            "message": "Access denied due to access_denied_invalid_key.",
        }
    ]
    assert error.voucher_order_id == 25252
    message = str(error)
    assert "voucher order 25252" in message
    assert "HTTP 403" in message
    assert "access_denied|access_denied_invalid_key" in message
    assert error.as_result() == {
        "http_status": 403,
        "error_codes": ["access_denied|access_denied_invalid_key"],
        "errors": error.errors,
        "voucher_order_id": 25252,
    }
    assert digicert_sim.stats()["requests"] == 1
    assert run.sleep.delays == []
    support.assert_no_key(message + json.dumps(error.errors) + "\n".join(run.log), WRONG_KEY)


def test_unknown_order_is_404(digicert_sim, recorder):
    with pytest.raises(DigiCertAPIError) as caught:
        recorder(digicert_sim.base_url, digicert_sim.api_key).client.fetch_codes(999999)
    assert caught.value.status == 404
    assert caught.value.error_codes == ["not_found"]
    assert "voucher order 999999" in str(caught.value)
    assert "not found" in str(caught.value)


def test_missing_permission_is_not_retried(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:403:missing_permission", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=5)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert caught.value.error_codes == ["access_denied|missing_permission"]
    assert digicert_sim.stats()["requests"] == 1
    assert run.sleep.delays == []


def test_multi_error_body_shows_every_error(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "multi_error"}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    message = str(caught.value)
    assert caught.value.status == 400
    assert caught.value.error_codes == ["invalid_filter|codes_status", "invalid_param|limit"]
    assert "invalid_filter|codes_status: Invalid value for filter codes_status." in message
    assert "invalid_param|limit: Invalid value for limit" in message
    assert digicert_sim.stats()["requests"] == 1


def test_500_is_not_retried(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:500", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=3)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert caught.value.status == 500
    assert digicert_sim.stats()["requests"] == 1


# ---- retries -----------------------------------------------------------------------------------------------------


def test_429_is_retried_then_succeeds(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:429", "times": 2}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=3)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert digicert_sim.stats()["by_status"] == {"429": 2, "200": 1}
    # Exponential back-off with full jitter: the n-th wait lies in [0, 0.5 * 2 ** (n - 1)].
    assert len(run.sleep.delays) == 2
    assert 0 <= run.sleep.delays[0] <= 0.5
    assert 0 <= run.sleep.delays[1] <= 1.0
    assert sum("retry 1/3" in line for line in run.log) == 1
    assert sum("retry 2/3" in line for line in run.log) == 1


def test_retry_after_is_honoured(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:429:retry-after=7", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert run.sleep.delays == [7.0]


def test_retry_after_as_an_http_date(recorder):
    answers = iter([503, 200])
    body = json.dumps({"codes": support.documented_json_records()}).encode()

    def respond(handler):
        status = next(answers)
        if status == 503:
            when = email.utils.formatdate(time.time() + 30, usegmt=True)
            return 503, [("Retry-After", when), ("Content-Type", "text/html")], b"<html>busy</html>"
        return 200, [("Content-Type", "application/json")], body

    with support.LoopbackServer(respond) as server:
        run = recorder(server.base_url, "loopback-key-1234567890")
        assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert len(run.sleep.delays) == 1
    assert 25 <= run.sleep.delays[0] <= 30


@pytest.mark.parametrize("header", ["soon", "-1", ""])
def test_unusable_retry_after_falls_back_to_back_off(recorder, header):
    answers = iter([429, 200])
    body = json.dumps({"codes": []}).encode()

    def respond(handler):
        if next(answers) == 429:
            return 429, [("Retry-After", header)], b'{"errors":[{"code":"request_limit_exceeded","message":"x"}]}'
        return 200, [], body

    with support.LoopbackServer(respond) as server:
        run = recorder(server.base_url, "loopback-key-1234567890")
        assert run.client.fetch_codes(1) == []
    assert len(run.sleep.delays) == 1
    assert 0 <= run.sleep.delays[0] <= 0.5


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_and_fail_with_a_clear_message(digicert_sim, recorder, status):
    digicert_sim.add_faults([{"order": 25252, "kind": f"status:{status}", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=2)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    error = caught.value
    message = str(error)
    assert error.status == status
    assert f"HTTP {status}" in message
    assert "voucher order 25252" in message
    assert "text/html" in message
    assert "DOCTYPE" not in message and "<h1>" not in message
    assert_clean_message(message)
    assert error.errors == []
    assert digicert_sim.stats()["requests"] == 3
    assert len(run.sleep.delays) == 2
    assert any("giving up after 3 attempts" in line for line in run.log)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_heal(digicert_sim, recorder, status):
    digicert_sim.add_faults([{"order": 25252, "kind": f"status:{status}", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert digicert_sim.stats()["requests"] == 2


def test_reset_connection_is_retried(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "reset", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert digicert_sim.stats()["requests"] == 2
    assert len(run.sleep.delays) == 1


def test_reset_connection_every_time_fails_clearly(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "reset", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=1)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    message = str(caught.value)
    assert caught.value.status is None
    assert "voucher order 25252" in message
    assert "cannot reach 127.0.0.1" in message
    assert "HTTP" not in message
    assert_clean_message(message)
    assert digicert_sim.stats()["requests"] == 2


def test_timeout_is_retried(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "delay:1.5", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, timeout=0.3)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert len(run.sleep.delays) == 1


def test_timeout_every_time_fails_clearly(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "delay:1.5", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, timeout=0.25, retries=1)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert caught.value.status is None
    assert "no answer from 127.0.0.1 within 0.25s (timeout)" in str(caught.value)
    assert len(run.sleep.delays) == 1


def test_retries_zero_means_one_attempt(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:503", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=0)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert caught.value.status == 503
    assert digicert_sim.stats()["requests"] == 1
    assert run.sleep.delays == []


def test_retry_after_beyond_max_retry_wait_is_not_waited_for(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:429:retry-after=120", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=5, max_retry_wait=60)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert caught.value.status == 429
    assert caught.value.error_codes == ["request_limit_exceeded"]
    assert run.sleep.delays == []
    assert digicert_sim.stats()["requests"] == 1
    assert any("max_retry_wait" in line for line in run.log)


def test_max_retry_wait_bounds_the_total_of_the_waits(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:429:retry-after=20", "times": 0}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=5, max_retry_wait=30)
    with pytest.raises(DigiCertAPIError):
        run.client.fetch_codes(25252)
    assert sum(run.sleep.delays) <= 30


def test_max_retry_wait_counts_waiting_not_request_time(digicert_sim, recorder, monkeypatch):
    monkeypatch.setattr(_api.random, "uniform", lambda low, high: 0.1)
    digicert_sim.add_faults([{"order": 25252, "kind": "delay:1.5", "times": 2}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, retries=3, max_retry_wait=1.0, timeout=0.6)
    assert run.client.fetch_codes(25252) == samples.TYPED_ORDER_25252
    assert run.sleep.delays == [0.1, 0.1]


def test_connection_refused_fails_at_once(recorder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = recorder(f"http://127.0.0.1:{port}/services/v2", "loopback-key-1234567890", retries=5)
    started = time.monotonic()
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert caught.value.status is None
    assert "cannot reach 127.0.0.1" in message
    assert "Connection refused" in message
    assert_clean_message(message)
    assert run.sleep.delays == []


# ---- answers that are not code lists ---------------------------------------------------------------------------

BAD_BODIES = {
    "html": "not valid JSON",
    "empty": "the response body is empty",
    "truncated": "not valid JSON",
    "no_codes": "no 'codes' list",
    "codes_not_list": "'codes' should be a list",
    "record_not_object": "code record #1: a code record should be an object",
    "bad_integer": "code record #1: field 'id' should be an integer",
}


@pytest.mark.parametrize(("kind", "reason"), sorted(BAD_BODIES.items()))
def test_json_answer_that_is_not_a_code_list(digicert_sim, recorder, kind, reason):
    digicert_sim.add_faults([{"order": 25252, "kind": kind}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    message = str(caught.value)
    assert caught.value.status == 200
    assert caught.value.voucher_order_id == 25252
    assert message.startswith("DigiCert request for voucher order 25252 failed with HTTP 200: ")
    assert reason in message
    assert_clean_message(message)
    assert digicert_sim.stats()["requests"] == 1


CSV_BAD_BODIES = {
    # The API's CSV must have all 21 of DigiCert's columns; the first three missing ones are named.
    "html": "no 'id' or 'value' or 'product_name' column (and 18 more)",
    "empty": "the CSV text is empty",
    "bad_integer": "code record #1: field 'id' should be an integer",
}


@pytest.mark.parametrize(("kind", "reason"), sorted(CSV_BAD_BODIES.items()))
def test_csv_answer_that_is_not_a_code_list(digicert_sim, recorder, kind, reason):
    digicert_sim.add_faults([{"order": 25252, "kind": kind}])
    with pytest.raises(DigiCertAPIError) as caught:
        list(recorder(digicert_sim.base_url, digicert_sim.api_key).client.iter_codes_csv(25252))
    message = str(caught.value)
    assert message.startswith("DigiCert request for voucher order 25252 failed with HTTP 200: ")
    assert "not a CSV list of voucher codes" in message
    assert reason in message
    assert_clean_message(message)


@pytest.mark.parametrize("order_id", [25256, 25261])
def test_truncated_csv_is_an_error(digicert_sim, recorder, order_id):
    digicert_sim.add_faults([{"order": order_id, "kind": "truncated"}])
    with pytest.raises(DigiCertAPIError, match="not a CSV list of voucher codes"):
        list(recorder(digicert_sim.base_url, digicert_sim.api_key).client.iter_codes_csv(order_id))


def test_csv_cut_inside_the_header_is_an_error(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "truncated"}])
    with pytest.raises(DigiCertAPIError):
        list(recorder(digicert_sim.base_url, digicert_sim.api_key).client.iter_codes_csv(25252))


def test_csv_that_is_not_utf8(recorder):
    def respond(handler):
        return 200, [("Content-Type", "text/csv")], b"id,value\n1,\xff\xfe\n"

    with support.LoopbackServer(respond) as server:
        with pytest.raises(DigiCertAPIError, match="not a CSV list of voucher codes"):
            list(recorder(server.base_url, "loopback-key-1234567890").client.iter_codes_csv(7))


def test_huge_json_answer_is_cut_off_by_the_size_cap(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "huge:3"}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, max_response_bytes=1024 * 1024)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(25252)
    message = str(caught.value)
    assert caught.value.status == 200
    assert "voucher order 25252" in message
    assert "larger than the 1 MiB cap" in message
    assert_clean_message(message)


def test_huge_csv_answer_is_cut_off_by_the_size_cap(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "huge:3"}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key, max_response_bytes=1024 * 1024)
    with pytest.raises(DigiCertAPIError, match="larger than the 1 MiB cap") as caught:
        list(run.client.iter_codes_csv(25252))
    assert caught.value.voucher_order_id == 25252


def test_body_without_content_length_is_cut_off_while_reading(recorder):
    # No Content-Length: the cap can only be applied while the body streams in.
    big = b'{"codes":[' + b",".join([b'{"id":1}'] * 80_000) + b"]}"
    headers = [("Content-Type", "application/json"), ("Content-Length", None)]
    with support.LoopbackServer(lambda handler: (200, headers, big)) as server:
        run = recorder(server.base_url, "loopback-key-1234567890", max_response_bytes=256 * 1024)
        with pytest.raises(DigiCertAPIError, match="larger than") as caught:
            run.client.fetch_codes(1)
    assert caught.value.voucher_order_id == 1


def test_body_without_content_length_under_the_cap_is_read(recorder):
    body = json.dumps({"codes": support.documented_json_records()}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", None)]
    with support.LoopbackServer(lambda handler: (200, headers, body)) as server:
        assert recorder(server.base_url, "loopback-key-1234567890").client.fetch_codes(1) == samples.TYPED_ORDER_25252


def test_answer_that_breaks_off_while_reading(recorder):
    def respond(handler):
        return 200, [("Content-Type", "application/json"), ("Content-Length", "5000")], b'{"codes":[{"id":1},'

    with support.LoopbackServer(respond) as server:
        client = recorder(server.base_url, "loopback-key-1234567890").client
        with pytest.raises(DigiCertAPIError) as caught:
            client.fetch_codes(3)
        assert "the answer broke off while reading it" in str(caught.value)
        assert caught.value.voucher_order_id == 3
        with pytest.raises(DigiCertAPIError, match="the answer broke off while reading it"):
            list(client.iter_codes_csv(3))


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (404, b"nope", "text/plain", "the body is not DigiCert's JSON error format (text/plain, 4 bytes: 'nope')"),
        (401, b"", "text/plain", "the API key was not accepted; the body is not DigiCert's JSON error format"),
        (418, b'{"message": "teapot"}', "application/json", "the API refused the request; the body is not"),
    ],
)
def test_error_bodies_that_are_not_digicerts_format(recorder, status, body, content_type, expected):
    with support.LoopbackServer(lambda handler: (status, [("Content-Type", content_type)], body)) as server:
        with pytest.raises(DigiCertAPIError) as caught:
            recorder(server.base_url, "loopback-key-1234567890").client.fetch_codes(5)
    assert caught.value.status == status
    assert expected in str(caught.value)
    assert caught.value.errors == []


def test_error_list_items_that_are_not_objects(recorder):
    body = json.dumps({"errors": ["plain text", {"code": "x"}]}).encode()
    with support.LoopbackServer(lambda handler: (400, [], body)) as server:
        with pytest.raises(DigiCertAPIError) as caught:
            recorder(server.base_url, "loopback-key-1234567890").client.fetch_codes(5)
    assert caught.value.errors == [{"code": "", "message": "plain text"}, {"code": "x", "message": ""}]


# ---- the key stays where it belongs ----------------------------------------------------------------------------


def test_redirect_is_not_followed_and_the_key_not_sent_elsewhere(recorder):
    key = "redirect-test-key-0123456789"
    with support.LoopbackServer(lambda handler: (200, [], b'{"codes": []}'), host="127.0.0.2") as elsewhere:
        target = f"http://127.0.0.2:{elsewhere.port}/services/v2/voucher/25252/download"
        with support.LoopbackServer(lambda handler: (302, [("Location", target)], b"")) as api:
            run = recorder(api.base_url, key)
            with pytest.raises(DigiCertAPIError) as caught:
                run.client.fetch_codes(25252)
    assert elsewhere.received == []
    assert len(api.received) == 1
    assert api.received[0]["headers"].get("X-DC-DEVKEY") == key
    assert caught.value.status == 302
    message = str(caught.value)
    assert "redirect to 127.0.0.2" in message
    assert "not followed" in message
    assert run.sleep.delays == []


def test_a_path_that_would_leave_the_api_host_is_refused(digicert_sim, recorder, monkeypatch):
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    monkeypatch.setattr(run.client, "url_for", lambda path: "http://127.0.0.2:9/services/v2/" + path)
    with pytest.raises(DigiCertAPIError, match="refusing to send the API key to another host"):
        run.client.fetch_codes(25252)
    assert digicert_sim.stats()["requests"] == 0


HOSTILE_KEY = "hostile-echo-key-Q7ZK2M4XW5RTB3NVC6PLD2JF"


@pytest.mark.parametrize(
    ("status", "content_type", "body_of"),
    [
        (403, "application/json", lambda key: json.dumps({"errors": [{"code": key, "message": f"bad key {key}"}]})),
        (401, "text/plain", lambda key: f"key {key} refused"),
        (502, "text/html", lambda key: f"<html><body><h1>Bad</h1><p>{key}</p></body></html>"),
    ],
)
def test_a_server_echoing_the_key_never_gets_it_shown(recorder, status, content_type, body_of):
    body = body_of(HOSTILE_KEY).encode()
    with support.LoopbackServer(lambda handler: (status, [("Content-Type", content_type)], body)) as server:
        run = recorder(server.base_url, HOSTILE_KEY, retries=1)
        with pytest.raises(DigiCertAPIError) as caught:
            run.client.fetch_codes(25252)
    shown = str(caught.value) + json.dumps(caught.value.errors) + json.dumps(caught.value.as_result())
    support.assert_no_key(shown + "\n".join(run.log), HOSTILE_KEY)
    assert "********" in shown


def test_a_record_holding_the_key_is_redacted_in_the_error(digicert_sim, recorder):
    digicert_sim.set_order(31337, [{"id": digicert_sim.api_key, "value": "A" * 32}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    with pytest.raises(DigiCertAPIError) as caught:
        run.client.fetch_codes(31337)
    assert "field 'id' should be an integer" in str(caught.value)
    support.assert_no_key(str(caught.value) + "\n".join(run.log), digicert_sim.api_key)
    with pytest.raises(DigiCertAPIError) as caught:
        list(run.client.iter_codes_csv(31337))
    support.assert_no_key(str(caught.value), digicert_sim.api_key)


def test_a_long_key_in_a_bad_field_is_not_partly_shown(recorder):
    body = json.dumps({"codes": [{"id": HOSTILE_KEY, "value": "A"}]}).encode()
    with support.LoopbackServer(lambda handler: (200, [("Content-Type", "application/json")], body)) as server:
        with pytest.raises(DigiCertAPIError) as caught:
            recorder(server.base_url, HOSTILE_KEY).client.fetch_codes(1)
    support.assert_no_key(str(caught.value), HOSTILE_KEY)


def test_a_key_at_the_cut_of_an_error_page_is_not_partly_shown(recorder):
    page = f"<html><body><p>{'x' * 100} {HOSTILE_KEY} more text</p></body></html>".encode()
    with support.LoopbackServer(lambda handler: (404, [("Content-Type", "text/html")], page)) as server:
        with pytest.raises(DigiCertAPIError) as caught:
            recorder(server.base_url, HOSTILE_KEY).client.fetch_codes(1)
    support.assert_no_key(str(caught.value), HOSTILE_KEY)


def test_log_lines_name_url_status_and_attempt_but_never_the_key(digicert_sim, recorder):
    digicert_sim.add_faults([{"order": 25252, "kind": "status:503", "times": 1}])
    run = recorder(digicert_sim.base_url, digicert_sim.api_key)
    run.client.fetch_codes(25252)
    assert len(run.log) == 3
    assert run.log[0].startswith(f"GET {digicert_sim.base_url}/voucher/25252/download -> HTTP 503 in ")
    assert run.log[0].endswith("(attempt 1)")
    assert run.log[1].startswith("retry 1/3 in ")
    assert run.log[2].endswith("(attempt 2)")
    support.assert_no_key("\n".join(run.log), digicert_sim.api_key)


def test_redact_replaces_the_key_anywhere(recorder):
    client = recorder("http://127.0.0.1:9/services/v2", "abcdef0123456789").client
    assert client.redact("x abcdef0123456789 y abcdef0123456789") == "x ******** y ********"
    assert client.redact("nothing here") == "nothing here"


def test_client_as_context_manager_closes_its_session(digicert_sim):
    settings = support.settings_for(digicert_sim.base_url, digicert_sim.api_key)
    with DigiCertClient(settings) as client:
        assert client.fetch_codes(25256) == samples.TYPED_ORDER_25256
        adapter = client.session.get_adapter(digicert_sim.base_url)
        assert adapter.poolmanager.pools
    assert not adapter.poolmanager.pools


def test_a_large_error_page_still_shows_its_first_words(recorder):
    page = b"Not here: this voucher order is gone. " + b"padding " * 20_000
    with support.LoopbackServer(lambda handler: (404, [("Content-Type", "text/plain")], page)) as server:
        with pytest.raises(DigiCertAPIError) as caught:
            recorder(server.base_url, "loopback-key-1234567890").client.fetch_codes(9)
    assert caught.value.status == 404
    assert "Not here: this voucher order is gone." in str(caught.value)


def test_an_error_page_that_breaks_off_still_gives_the_status(recorder):
    def respond(handler):
        return 503, [("Content-Type", "text/html"), ("Content-Length", "9000")], b"<html><body>Busy"

    with support.LoopbackServer(respond) as server:
        run = recorder(server.base_url, "loopback-key-1234567890", retries=0)
        with pytest.raises(DigiCertAPIError) as caught:
            run.client.fetch_codes(9)
    assert caught.value.status == 503
    assert "HTTP 503" in str(caught.value)
    assert_clean_message(str(caught.value))


def test_streamed_csv_of_multiline_non_ascii_cells_across_chunk_boundaries(digicert_sim, recorder):
    # About half a MiB of CSV: several 256 KiB network chunks, split inside multi-byte characters and quoted cells.
    awkward = 'Müller & Søn, "Ærø"\r\nzweite Zeile\n— dritte, «quoted» 漢字 😀'
    codes = [
        {**support.documented_json_records()[0], "id": 700_000 + n, "cert_organization": awkward, "note": f"n{n}"}
        for n in range(1500)
    ]
    digicert_sim.set_order(4242, codes)
    client = recorder(digicert_sim.base_url, digicert_sim.api_key).client
    streamed = list(client.iter_codes_csv(4242))
    assert len(streamed) == 1500
    assert {code["cert_organization"] for code in streamed} == {awkward}
    # The CSV carries DigiCert's 21 fields; the JSON also has the extra "note", which the CSV cannot hold.
    from_json = client.fetch_codes(4242)
    assert streamed == [{name: code[name] for name in samples.FIELDS} for code in from_json]
