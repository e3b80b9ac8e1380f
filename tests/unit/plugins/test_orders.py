"""Unit tests of plugins/module_utils/_orders.py and the digicert_voucher_orders_info module.

The real DigiCertClient is used; only its HTTP transport is replaced, by a requests adapter that
answers from memory (FakeDigiCert below), so no socket is opened. Expected values are written by hand.
"""

from __future__ import annotations

import datetime
import io
import json
from urllib.parse import parse_qs, urlsplit

import certops_unit_support as support
import pytest
import requests
from ansible_collections.certops.digicert.plugins.module_utils import _orders
from ansible_collections.certops.digicert.plugins.module_utils._api import (
    ConnectionSettings,
    DigiCertAPIError,
    DigiCertClient,
)
from ansible_collections.certops.digicert.plugins.module_utils._orders import (
    VoucherOrderPagingError,
    attach_codes,
    build_order_filters,
    check_paging,
    check_sort,
    iter_voucher_orders,
    matching_voucher_order_ids,
    normalize_voucher_order,
)
from ansible_collections.certops.digicert.plugins.module_utils._records import RecordError
from ansible_collections.certops.digicert.plugins.modules import digicert_voucher_orders_info
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

API_URL = "http://127.0.0.1:9/services/v2"
API_KEY = "unit-test-key-0000"


def order(order_id, codes_status="unused", status="completed", **extra):
    """An order record as the simulator documents its shape, with DigiCert-style string drift."""
    record = {
        "id": str(order_id),
        "name": f"Order {order_id}",
        "status": status,
        "product_name": "Basic OV",
        "product_name_id": "ssl_basic",
        "products": [{"name_id": "ssl_basic", "name": "Basic OV"}],
        "created_date": "2026-06-02 09:14:27",
        "expiration_date": " ",
        "codes_count": "2",
        "codes_used_count": 0,
        "codes_status": codes_status,
    }
    record.update(extra)
    return record


class FakeDigiCert(BaseAdapter):
    """Answers GET /voucher (paged, filtered on status and codes_status) and GET /voucher/{id}/download.

    Misbehaviours for the paging guards: ``cap`` (serve at most this many per page whatever the limit),
    ``vanish_from`` (pages from this offset on come back empty while the total stays), ``no_total``,
    ``ignore_offset``, ``endless`` (every page is full of new orders and the total keeps growing),
    ``list_answer`` (a fixed status and body for every list request).
    """

    def __init__(self, orders=(), codes=None, **behaviour):
        super().__init__()
        self.orders = list(orders)
        self.codes = codes or {}
        self.behaviour = behaviour
        self.requests: list[tuple[str, dict]] = []

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        self.requests.append((url.path, params))
        status, body = self.answer(url.path, params)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", "Content-Length": str(len(body))})
        response.raw = io.BytesIO(body)
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass

    def answer(self, path, params):
        if path.endswith("/download"):
            order_id = int(path.split("/")[-2])
            return 200, json.dumps({"codes": self.codes.get(order_id, [])}).encode()
        if "list_answer" in self.behaviour:
            return self.behaviour["list_answer"]
        limit, offset = int(params["limit"]), int(params["offset"])
        if self.behaviour.get("endless"):
            page = [order(100_000 + offset + index) for index in range(limit)]
            return 200, json.dumps({"voucher_orders": page, "page": {"total": offset + 2 * limit}}).encode()
        matching = [
            record
            for record in self.orders
            if params.get("filters[status]", record["status"]) == record["status"]
            and params.get("filters[codes_status]", record["codes_status"]) == record["codes_status"]
        ]
        size = min(limit, self.behaviour.get("cap", limit))
        start = 0 if self.behaviour.get("ignore_offset") else offset
        page = matching[start : start + size]
        if offset >= self.behaviour.get("vanish_from", len(matching) + 1):
            page = []
        document = {"voucher_orders": page, "page": {"total": len(matching), "limit": size, "offset": offset}}
        if self.behaviour.get("no_total"):
            del document["page"]
        return 200, json.dumps(document).encode()

    def list_requests(self):
        return [params for path, params in self.requests if path.endswith("/voucher")]


def make_client(fake, log=None, max_workers=4):
    settings = ConnectionSettings(
        api_key=API_KEY, api_url=API_URL, retries=0, max_retry_wait=0.0, max_workers=max_workers
    )
    client = DigiCertClient(settings, log=log)
    client.session.mount("http://", fake)
    return client


FIVE = [order(25301), order(25302, "partial"), order(25303, "used"), order(25304), order(25305, "none")]


# -- normalize_voucher_order -----------------------------------------------------------------------------------


def test_normalize_types_order_fields_like_code_fields():
    record = order(25260, codes_count="6", codes_used_count=" 0 ", future_field="kept")
    assert normalize_voucher_order(record) is record
    assert record == {
        "id": 25260,
        "name": "Order 25260",
        "status": "completed",
        "product_name": "Basic OV",
        "product_name_id": "ssl_basic",
        "products": [{"name_id": "ssl_basic", "name": "Basic OV"}],
        "created_date": "2026-06-02 09:14:27",
        "expiration_date": None,
        "codes_count": 6,
        "codes_used_count": 0,
        "codes_status": "unused",
        "future_field": "kept",
    }


def test_normalize_blank_counter_becomes_none():
    assert normalize_voucher_order({"id": 7, "codes_count": " ", "name": ""}) == {
        "id": 7,
        "codes_count": None,
        "name": None,
    }


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (["not", "an", "object"], "a voucher order record should be an object but is list"),
        ({"id": 1, "codes_count": "many"}, "field 'codes_count' should be an integer but is str 'many'"),
        ({"id": True}, "field 'id' should be an integer but is bool True"),
        ({"name": "no id"}, "a voucher order record has no positive 'id'"),
        ({"id": 0}, "a voucher order record has no positive 'id'"),
    ],
)
def test_normalize_rejects_broken_records(record, message):
    with pytest.raises(RecordError) as caught:
        normalize_voucher_order(record)
    assert str(caught.value) == message


# -- build_order_filters, check_sort, check_paging -------------------------------------------------------------


def test_build_order_filters_checks_and_normalizes_every_filter():
    filters = build_order_filters(
        {
            "status": "Completed",
            "codes_status": ["unused", "partial", "unused"],
            "product_name_id": "ssl_basic",
            "name": "  Web team ",
            "created_date": datetime.date(2026, 6, 2),
            "expiration_date": "2029-01-01 ... 2029-12-31",
        }
    )
    assert filters == {
        "status": ("completed",),
        "codes_status": ("unused", "partial"),
        "product_name_id": ("ssl_basic",),
        "name": ("Web team",),
        "created_date": ("2026-06-02",),
        "expiration_date": ("2029-01-01...2029-12-31",),
    }
    assert build_order_filters(filters) == filters


def test_build_order_filters_leaves_out_unset_filters():
    assert build_order_filters(None) == {}
    assert build_order_filters({"status": None, "codes_status": [], "name": None}) == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"codes_status": "unsued"}, "codes_status: 'unsued' is not one of none, unused, partial, used"),
        ({"status": ["completed", "pending"]}, "status: 'pending' is not one of completed, canceled"),
        ({"product_name_id": "Basic OV"}, "product_name_id: 'Basic OV' is not a DigiCert product identifier"),
        ({"created_date": "2026-13-01"}, "created_date: '2026-13-01' is not a date YYYY-MM-DD or a range"),
        ({"created_date": "20260101"}, "created_date: '20260101' is not a date YYYY-MM-DD or a range"),
        ({"expiration_date": "2026-01-01..."}, "expiration_date: '2026-01-01...' is not a date YYYY-MM-DD"),
        ({"expiration_date": "2026-02-01...2026-01-01"}, "expiration_date: the range '2026-02-01...2026-01-01' ends"),
        ({"name": "  "}, "name must be a non-empty string, not '  '"),
        ({"name": 42}, "name must be a non-empty string, not 42"),
        ({"order_status": "completed"}, "order_status is not a voucher order filter; use status, codes_status"),
    ],
)
def test_build_order_filters_names_the_option_in_errors(values, message):
    with pytest.raises(ValueError) as caught:
        build_order_filters(values)
    assert str(caught.value).startswith(message)


def test_build_order_filters_prefixes_option_names_for_nested_options():
    with pytest.raises(ValueError, match=r"^voucher_orders\.codes_status: 'x' is not one of"):
        build_order_filters({"codes_status": "x"}, option_prefix="voucher_orders.")
    with pytest.raises(ValueError, match=r"^voucher_orders must be a dictionary"):
        build_order_filters(["codes_status"], option_prefix="voucher_orders.")


def test_build_order_filters_bounds_the_number_of_listings():
    many = {
        "product_name_id": [f"product_{n}" for n in range(9)],
        "codes_status": ["none", "unused", "partial", "used"],
    }
    with pytest.raises(ValueError, match=r"need 36 separate listings .* at most 32"):
        build_order_filters(many)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [(None, None), ("", None), ("-created_date", "-created_date"), ("name, -id", "name,-id")],
)
def test_check_sort_accepts_fields_with_direction(sort, expected):
    assert check_sort(sort) == expected


@pytest.mark.parametrize("sort", ["created date", "-", "id;drop", "Name", 5])
def test_check_sort_rejects_anything_else(sort):
    with pytest.raises(ValueError, match=r"^sort"):
        check_sort(sort)


@pytest.mark.parametrize(
    ("page_size", "max_pages", "message"),
    [
        (0, 1, "page_size must be between 1 and 1000, not 0"),
        (1001, 1, "page_size must be between 1 and 1000, not 1001"),
        (True, 1, "page_size must be between 1 and 1000, not True"),
        (10, 0, "max_pages must be a whole number of at least 1, not 0"),
    ],
)
def test_check_paging(page_size, max_pages, message):
    with pytest.raises(ValueError) as caught:
        check_paging(page_size, max_pages)
    assert str(caught.value) == message


# -- iter_voucher_orders ---------------------------------------------------------------------------------------


def test_follows_every_page_with_limit_and_offset():
    fake = FakeDigiCert(FIVE)
    log = []
    with make_client(fake, log=log.append) as client:
        orders = list(iter_voucher_orders(client, page_size=2))
    assert [o["id"] for o in orders] == [25301, 25302, 25303, 25304, 25305]
    assert orders[0]["codes_count"] == 2 and orders[0]["expiration_date"] is None
    assert fake.list_requests() == [
        {"limit": "2", "offset": "0"},
        {"limit": "2", "offset": "2"},
        {"limit": "2", "offset": "4"},
    ]
    assert "voucher order list, page 3: 1 orders at offset 4 of 5" in log


def test_sends_filters_and_sort_in_digicerts_query_form():
    fake = FakeDigiCert(FIVE)
    with make_client(fake) as client:
        orders = list(iter_voucher_orders(client, {"codes_status": "partial", "status": "completed"}, sort="-id"))
    assert [o["id"] for o in orders] == [25302]
    assert fake.list_requests() == [
        {
            "filters[status]": "completed",
            "filters[codes_status]": "partial",
            "sort": "-id",
            "limit": "1000",
            "offset": "0",
        }
    ]


def test_several_values_are_one_listing_each_in_the_order_given():
    fake = FakeDigiCert(FIVE)
    with make_client(fake) as client:
        ids = matching_voucher_order_ids(client, {"codes_status": ["partial", "unused"]}, page_size=1)
    assert ids == [25302, 25301, 25304]
    assert [(p["filters[codes_status]"], p["offset"]) for p in fake.list_requests()] == [
        ("partial", "0"),
        ("unused", "0"),
        ("unused", "1"),
    ]


def test_an_order_found_by_two_listings_is_returned_once():
    fake = FakeDigiCert(FIVE)
    with make_client(fake) as client:
        ids = matching_voucher_order_ids(client, {"status": ["completed", "completed"]})
    assert ids == [25301, 25302, 25303, 25304, 25305]
    assert len(fake.list_requests()) == 1


def test_a_server_capping_the_page_size_loses_nothing():
    fake = FakeDigiCert(FIVE, cap=2)
    with make_client(fake) as client:
        ids = matching_voucher_order_ids(client, page_size=1000)
    assert ids == [25301, 25302, 25303, 25304, 25305]
    assert [p["offset"] for p in fake.list_requests()] == ["0", "2", "4"]


def test_orders_shifting_between_pages_are_not_repeated():
    fake = FakeDigiCert(FIVE)
    with make_client(fake) as client:
        listing = iter_voucher_orders(client, page_size=2)
        first = [next(listing)["id"], next(listing)["id"]]
        # A new order at the head of the list pushes 25302 onto the next page.
        fake.orders.insert(0, order(25399))
        rest = [o["id"] for o in listing]
    assert first == [25301, 25302]
    assert rest == [25303, 25304, 25305]


def test_an_empty_page_ends_the_listing_with_a_warning():
    fake = FakeDigiCert(FIVE, vanish_from=2)
    warnings = []
    with make_client(fake) as client:
        ids = matching_voucher_order_ids(client, page_size=2, warn=warnings.append)
    assert ids == [25301, 25302]
    assert warnings == [
        "DigiCert announced 5 voucher orders but the page at offset 2 is empty; "
        "the list may have changed while it was read, so it may be incomplete"
    ]


def test_an_empty_list_is_one_request():
    fake = FakeDigiCert([])
    warnings = []
    with make_client(fake) as client:
        assert matching_voucher_order_ids(client, warn=warnings.append) == []
    assert len(fake.list_requests()) == 1
    assert warnings == []


def test_without_a_total_a_short_page_is_the_last():
    fake = FakeDigiCert(FIVE, no_total=True)
    with make_client(fake) as client:
        ids = matching_voucher_order_ids(client, page_size=2)
    assert ids == [25301, 25302, 25303, 25304, 25305]
    assert [p["offset"] for p in fake.list_requests()] == ["0", "2", "4"]


def test_a_server_ignoring_offset_is_caught():
    fake = FakeDigiCert(FIVE, ignore_offset=True)
    with make_client(fake) as client, pytest.raises(VoucherOrderPagingError) as caught:
        matching_voucher_order_ids(client, page_size=2)
    assert "the voucher order page at offset 2 repeats orders already listed" in str(caught.value)
    assert len(fake.list_requests()) == 2


def test_a_server_that_never_ends_stops_at_max_pages():
    fake = FakeDigiCert(endless=True)
    with make_client(fake) as client, pytest.raises(VoucherOrderPagingError) as caught:
        matching_voucher_order_ids(client, page_size=3, max_pages=4)
    assert len(fake.list_requests()) == 4
    assert "stopped after 4 pages (12 voucher orders) before the end of the list of 15" in str(caught.value)
    assert "raise max_pages" in str(caught.value)
    assert isinstance(caught.value, DigiCertAPIError)


def test_bad_arguments_fail_before_any_request():
    fake = FakeDigiCert(FIVE)
    with make_client(fake) as client:
        with pytest.raises(ValueError, match="codes_status"):
            list(iter_voucher_orders(client, {"codes_status": "nope"}))
        with pytest.raises(ValueError, match="page_size"):
            list(iter_voucher_orders(client, page_size=5000))
        with pytest.raises(ValueError, match="sort"):
            list(iter_voucher_orders(client, sort="a b"))
    assert fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>maintenance</html>", "the answer to the voucher order list is not JSON (24 bytes)"),
        (200, b'{"orders": []}', "the answer has no 'voucher_orders' list (found: orders)"),
        (200, b"[]", "the answer has no 'voucher_orders' list (found: list)"),
        (
            200,
            b'{"voucher_orders": [{"id": 1}, {"id": "x"}], "page": {"total": 2}}',
            "voucher order record #2: field 'id' should be an integer but is str 'x'",
        ),
        (200, b"[" * 100_000 + b"]" * 100_000, "the answer to the voucher order list is not JSON (200000 bytes)"),
        (
            200,
            b'{"voucher_orders": [{"id": 1, "codes_count": "' + b"9" * 5000 + b'"}]}',
            "voucher order record #1: ",
        ),
    ],
)
def test_answers_that_are_not_an_order_list_fail_clearly(status, body, message):
    fake = FakeDigiCert(list_answer=(status, body))
    with make_client(fake) as client, pytest.raises(DigiCertAPIError) as caught:
        matching_voucher_order_ids(client)
    assert message in caught.value.message
    assert caught.value.status == 200


def test_digicert_errors_keep_status_and_codes():
    body = json.dumps(
        {"errors": [{"code": "invalid_filter|codes_status", "message": "Invalid value for filter codes_status."}]}
    ).encode()
    fake = FakeDigiCert(list_answer=(400, body))
    with make_client(fake) as client, pytest.raises(DigiCertAPIError) as caught:
        matching_voucher_order_ids(client)
    assert caught.value.status == 400
    assert caught.value.error_codes == ["invalid_filter|codes_status"]


@pytest.mark.parametrize("total", ["lots", "9" * 5000, None, [3]])
def test_a_total_that_is_not_a_number_is_treated_as_unknown(total):
    page = {"voucher_orders": [order(1), order(2)], "page": {"total": total}}
    fake = FakeDigiCert(list_answer=(200, json.dumps(page).encode()))
    with make_client(fake) as client:
        assert matching_voucher_order_ids(client, page_size=5) == [1, 2]
    assert len(fake.list_requests()) == 1


# -- attach_codes ----------------------------------------------------------------------------------------------


def test_attach_codes_sets_each_orders_normalized_codes_in_order():
    codes = {
        25301: [
            {"id": "49250", "value": "K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G", "status": "active", "cert_organization": " "}
        ],
        25302: [],
        25303: [{"id": 49262, "value": "B7WN2XQ5ZK4RTH6VMC3PJD7LGA2FYS4E", "status": "used", "server_licenses": "1"}],
    }
    fake = FakeDigiCert(FIVE, codes=codes)
    with make_client(fake) as client:
        orders = attach_codes(client, list(iter_voucher_orders(client, {"status": "completed"}))[:3])
    assert [(o["id"], o["codes"]) for o in orders] == [
        (
            25301,
            [{"id": 49250, "value": "K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G", "status": "active", "cert_organization": None}],
        ),
        (25302, []),
        (25303, [{"id": 49262, "value": "B7WN2XQ5ZK4RTH6VMC3PJD7LGA2FYS4E", "status": "used", "server_licenses": 1}]),
    ]
    downloads = sorted(path for path, _params in fake.requests if path.endswith("/download"))
    assert downloads == [f"/services/v2/voucher/{n}/download" for n in (25301, 25302, 25303)]


# -- the module ------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_api(monkeypatch):
    """Point the module's DigiCertClient at a FakeDigiCert serving FIVE and return that fake."""
    fake = FakeDigiCert(FIVE, codes={25302: [{"id": "49300", "value": "V" * 32, "status": "active"}]})

    class PatchedClient(DigiCertClient):
        def __init__(self, settings, log=None):
            super().__init__(settings, log=log)
            self.session.mount("http://", fake)

    monkeypatch.setattr(digicert_voucher_orders_info, "DigiCertClient", PatchedClient)
    return fake


def run_main(args, capsys):
    with support.module_args({"api_key": API_KEY, "api_url": API_URL, **args}), pytest.raises(SystemExit) as caught:
        digicert_voucher_orders_info.main()
    result = json.loads(capsys.readouterr().out)
    return caught.value.code, result


@pytest.mark.parametrize("check_mode", [False, True])
def test_module_lists_orders_with_filters_and_codes(fake_api, capsys, check_mode):
    args = {"codes_status": ["partial"], "include_codes": True, "page_size": 1, "_ansible_check_mode": check_mode}
    rc, result = run_main(args, capsys)
    assert rc == 0
    assert result["changed"] is False
    assert result["count"] == 1
    assert result["voucher_order_ids"] == [25302]
    assert result["voucher_orders"][0]["codes"] == [{"id": 49300, "value": "V" * 32, "status": "active"}]
    assert "request_log" not in result


def test_module_returns_the_request_log_at_vvv(fake_api, capsys):
    rc, result = run_main({"sort": "id", "_ansible_verbosity": 3}, capsys)
    assert rc == 0
    assert result["count"] == 5
    assert result["request_log"][0].startswith(f"GET {API_URL}/voucher?sort=id&limit=1000&offset=0 -> HTTP 200")
    assert result["request_log"][1] == "voucher order list, page 1: 5 orders at offset 0 of 5"


def test_module_rejects_bad_filters_before_any_request(fake_api, capsys):
    rc, result = run_main({"created_date": "yesterday"}, capsys)
    assert rc == 1
    assert result["failed"] is True
    assert result["msg"] == "created_date: 'yesterday' is not a date YYYY-MM-DD or a range YYYY-MM-DD...YYYY-MM-DD"
    assert fake_api.requests == []


def test_module_reports_paging_failures_with_details(fake_api, capsys):
    fake_api.behaviour["ignore_offset"] = True
    rc, result = run_main({"page_size": 2, "_ansible_verbosity": 3}, capsys)
    assert rc == 1
    assert "repeats orders already listed" in result["msg"]
    assert result["http_status"] is None
    assert result["error_codes"] == []
    assert any("/services/v2/voucher?limit=2&offset=2" in line for line in result["request_log"])
    assert API_KEY not in json.dumps(result)


def test_module_warns_about_an_incomplete_list(fake_api, capsys, monkeypatch):
    # Where warnings end up depends on whether ansible-core thinks it runs on the controller, which other
    # tests in this process decide; the module's own warn() is what this test is about.
    warned = []
    monkeypatch.setattr(digicert_voucher_orders_info.AnsibleModule, "warn", lambda self, text: warned.append(text))
    fake_api.behaviour["vanish_from"] = 2
    rc, result = run_main({"page_size": 2}, capsys)
    assert rc == 0
    assert result["voucher_order_ids"] == [25301, 25302]
    assert warned == [
        "DigiCert announced 5 voucher orders but the page at offset 2 is empty; "
        "the list may have changed while it was read, so it may be incomplete"
    ]


def test_module_argument_spec_matches_the_shared_choices():
    spec = digicert_voucher_orders_info.argument_spec()
    assert spec["status"]["choices"] == ["completed", "canceled"]
    assert spec["codes_status"]["choices"] == ["none", "unused", "partial", "used"]
    assert set(_orders.ORDER_FILTER_NAMES) <= set(spec)
