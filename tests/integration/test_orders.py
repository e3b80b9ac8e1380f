"""digicert_voucher_orders_info and the voucher_codes_from_csv filter in real ansible-playbook runs.

The simulator (tests/simulator, started by tests/conftest.py on 127.0.0.1) serves ``GET /voucher`` with paging
and filters. Expected order ids, records and code values are written out by hand from its documented data
set: orders 25252 and 25256 (DigiCert's samples, all codes used), 25260 (six unused codes), 25261 (two used,
two unused, special characters) and 25270 (canceled, no codes).
"""

from __future__ import annotations

import urllib.request

import pytest

ALL_BY_ID = [25252, 25256, 25260, 25261, 25270]
# The simulator's default order is -created_date.
ALL_NEWEST_FIRST = [25261, 25260, 25270, 25256, 25252]

ORDER_25260 = {
    "id": 25260,
    "name": "Web team vouchers",
    "status": "completed",
    "product_name": "Basic OV",
    "product_name_id": "ssl_basic",
    "products": [
        {"name_id": "ssl_basic", "name": "Basic OV"},
        {"name_id": "ssl_ev_securesite_pro", "name": "Secure Site Pro EV SSL"},
    ],
    "created_date": "2026-06-02 09:14:27",
    "expiration_date": "2029-06-02",
    "codes_count": 6,
    "codes_used_count": 0,
    "codes_status": "unused",
}
ORDER_25270 = {
    "id": 25270,
    "name": "Canceled order",
    "status": "canceled",
    "product_name": "Basic OV",
    "product_name_id": "ssl_basic",
    "products": [{"name_id": "ssl_basic", "name": "Basic OV"}],
    "created_date": "2023-01-10 08:00:00",
    "expiration_date": "2024-01-10",
    "codes_count": 0,
    "codes_used_count": 0,
    "codes_status": "none",
}
UNUSED_VALUES = [
    # order 25260, all six unused
    "K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G",
    "P3VN6WQ2ZK7HTM4RXB5CJD2LFY6GSA3E",
    "M2XC7RB4QV6ZNK3TWH5PJG2DLA7FYS6E",
    "T6BW3NZ7QH2KXV5RMC4PJA6DLG3FYS2E",
    "Z4RK6TM2XB7QVN3WHC5PJD6LGA2FYS7E",
    "W5NQ3ZB6XK2RTV7MHC4PJD3LGA6FYS5E",
    # order 25261, codes 49262 and 49263
    "B7WN2XQ5ZK4RTH6VMC3PJD7LGA2FYS4E",
    "N3ZQ6XB2WK7RTM5VHC4PJD2LGA3FYS6E",
]
LIST_TASK = "List voucher orders"


def list_orders(play, **options):
    """Run list_orders.yml with OPTIONS as orders_* extra vars; return the run."""
    return play.run("orders/list_orders.yml", extra_vars={f"orders_{name}": value for name, value in options.items()})


def listing_requests(sim) -> int:
    return sim.stats()["by_path"].get("/services/v2/voucher", 0)


def test_lists_every_voucher_order_as_typed_records(play, sim):
    run = list_orders(play)
    assert run.rc == 0, run
    result = run.ok(LIST_TASK)
    assert result["changed"] is False
    assert result["count"] == 5
    assert result["voucher_order_ids"] == ALL_NEWEST_FIRST
    by_id = {order["id"]: order for order in result["voucher_orders"]}
    assert by_id[25260] == ORDER_25260
    assert by_id[25270] == ORDER_25270
    assert listing_requests(sim) == 1


def test_follows_every_page_of_a_long_list(play, sim):
    # Seven more orders make twelve: with five per page that is three pages, the last one short.
    for number in range(1, 8):
        sim.set_order(30000 + number, [], order={"name": f"Bulk order {number}", "created_date": f"2025-01-0{number}"})
    run = list_orders(play, page_size=5, sort="id")
    assert run.rc == 0, run
    result = run.ok(LIST_TASK)
    assert result["voucher_order_ids"] == [*ALL_BY_ID, *range(30001, 30008)]
    assert result["count"] == 12
    assert listing_requests(sim) == 3
    added = result["voucher_orders"][-1]
    assert added["name"] == "Bulk order 7"
    assert added["expiration_date"] is None
    assert added["codes_count"] == 0


def test_a_list_longer_than_max_pages_fails_instead_of_returning_part_of_it(play, sim):
    for number in range(1, 8):
        sim.set_order(30000 + number, [])
    run = list_orders(play, page_size=5, max_pages=2)
    assert run.rc != 0
    result = run.failed(LIST_TASK)
    assert "stopped after 2 pages (10 voucher orders) before the end of the list of 12" in result["msg"]
    assert "voucher_orders" not in result
    assert listing_requests(sim) == 2


def test_the_request_log_shows_each_page_at_vvv(play, sim):
    run = play.run("orders/list_orders.yml", extra_vars={"orders_page_size": 2, "orders_sort": "-id"}, verbosity=3)
    assert run.rc == 0, run
    log = run.ok(LIST_TASK)["request_log"]
    pages = [line for line in log if line.startswith("voucher order list")]
    assert pages == [
        "voucher order list, page 1: 2 orders at offset 0 of 5",
        "voucher order list, page 2: 2 orders at offset 2 of 5",
        "voucher order list, page 3: 1 orders at offset 4 of 5",
    ]
    assert sim.api_key not in "\n".join(log)


@pytest.mark.parametrize(
    ("options", "expected_ids"),
    [
        pytest.param({"codes_status": ["unused", "partial"]}, [25260, 25261], id="codes to hand out"),
        pytest.param({"codes_status": ["none"]}, [25270], id="no codes"),
        pytest.param({"status": ["canceled"]}, [25270], id="canceled"),
        pytest.param({"product_name_id": ["ssl_ev_securesite_pro"]}, [25256, 25260, 25261], id="product"),
        pytest.param({"created_date": "2026-01-01...2026-12-31"}, [25260, 25261], id="created in a range"),
        pytest.param({"created_date": "2022-03-03"}, [25252, 25256], id="created on a day"),
        pytest.param({"expiration_date": "2024-01-10"}, [25270], id="expiring on a day"),
        pytest.param({"name": "SHOP"}, [25261], id="name"),
        pytest.param(
            {"status": ["completed"], "product_name_id": ["ssl_basic"], "codes_status": ["used"]},
            [25252, 25256],
            id="several filters",
        ),
    ],
)
def test_filters(play, sim, options, expected_ids):
    run = list_orders(play, sort="id", **options)
    assert run.rc == 0, run
    assert run.ok(LIST_TASK)["voucher_order_ids"] == expected_ids


def test_sort_descending(play, sim):
    run = list_orders(play, sort="-id")
    assert run.rc == 0, run
    assert run.ok(LIST_TASK)["voucher_order_ids"] == ALL_BY_ID[::-1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"codes_status": ["unsued"]}, "codes_status"),
        ({"created_date": "last week"}, "created_date: 'last week' is not a date YYYY-MM-DD or a range"),
        ({"product_name_id": ["Basic OV"]}, "product_name_id: 'Basic OV' is not a DigiCert product identifier"),
        ({"sort": "created date"}, "sort: 'created date' is not a sort order"),
        ({"page_size": 5000}, "page_size must be between 1 and 1000, not 5000"),
    ],
)
def test_bad_option_values_fail_before_any_request(play, sim, options, message):
    run = list_orders(play, **options)
    assert run.rc != 0
    assert message in run.failed(LIST_TASK)["msg"]
    assert sim.stats()["requests"] == 0


def test_digicert_refusing_a_sort_field_is_reported_with_its_error_code(play, sim):
    run = list_orders(play, sort="no_such_field")
    assert run.rc != 0
    result = run.failed(LIST_TASK)
    assert result["http_status"] == 400
    assert result["error_codes"] == ["invalid_param|sort"]
    assert "Invalid sort field: no_such_field." in result["msg"]


@pytest.mark.parametrize("check", [False, True], ids=["run", "check mode"])
def test_include_codes_attaches_each_orders_codes(play, sim, check):
    run = play.run(
        "orders/list_orders.yml",
        extra_vars={"orders_codes_status": ["partial"], "orders_include_codes": True},
        check=check,
    )
    assert run.rc == 0, run
    (order,) = run.ok(LIST_TASK)["voucher_orders"]
    assert order["id"] == 25261
    codes = order["codes"]
    assert [(code["id"], code["status"]) for code in codes] == [
        (49260, "used"),
        (49261, "used"),
        (49262, "active"),
        (49263, "active"),
    ]
    assert codes[0]["cert_organization"] == 'Müller & Søn, "Ærø"'
    assert codes[0]["certificate_order_id"] == 204930001
    assert codes[1]["cert_organization"] == "=1+2"
    assert codes[2]["cert_request_date"] is None
    assert codes[2]["server_licenses"] == 1
    assert sim.stats()["by_path"]["/services/v2/voucher/25261/download"] == 1


def test_a_playbook_reports_every_unused_code_without_naming_an_order(play, sim):
    run = play.run("orders/unused_codes.yml")
    assert run.rc == 0, run
    found = run.ok("Find the completed voucher orders with unused codes, with their codes")
    assert found["voucher_order_ids"] == [25260, 25261]
    unused = run.ok("Keep the unused codes")["ansible_facts"]["unused_codes"]
    assert [code["value"] for code in unused] == UNUSED_VALUES
    assert {code["status"] for code in unused} == {"active"}
    assert run.ok("Report them")["msg"][0] == "8 unused codes in voucher orders 25260, 25261"
    by_path = sim.stats()["by_path"]
    # One listing per codes_status value, then one download per order found; nothing else.
    assert by_path == {
        "/services/v2/voucher": 2,
        "/services/v2/voucher/25260/download": 1,
        "/services/v2/voucher/25261/download": 1,
    }


def download_csv(sim, order_id: int) -> bytes:
    """What CertCentral's download gives: the order's codes as CSV (Accept: text/csv), from the simulator."""
    assert sim.base_url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 - an http URL on the loopback simulator, checked above
        f"{sim.base_url}/voucher/{order_id}/download",
        headers={"Accept": "text/csv", "X-DC-DEVKEY": sim.api_key, "User-Agent": "certops-digicert-tests"},
    )
    # No proxy handler: the request stays on 127.0.0.1 whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/csv"
        return response.read()


@pytest.mark.parametrize(
    ("order_id", "order_name", "byte_order_mark"),
    [
        (25252, "Example Inc. Basic OV", False),
        (25256, "Example mixed", False),
        (25260, "Web team", False),
        (25261, "Shop vouchers", False),
        (25261, "Shop vouchers", True),
    ],
)
def test_a_downloaded_csv_parsed_by_the_filter_equals_what_the_modules_return(
    play, sim, tmp_path, order_id, order_name, byte_order_mark
):
    data = download_csv(sim, order_id)
    if byte_order_mark:
        # What a round trip through a spreadsheet adds.
        data = b"\xef\xbb\xbf" + data
    csv_path = tmp_path / f"voucher-{order_id}.csv"
    csv_path.write_bytes(data)
    run = play.run(
        "orders/csv_parity.yml",
        extra_vars={"csv_path": str(csv_path), "parity_order_id": order_id, "parity_order_name": order_name},
    )
    assert run.rc == 0, run
    from_csv = run.ok("Parse the downloaded CSV on the controller")["ansible_facts"]["codes_from_csv"]
    from_api = run.ok("Fetch the same order's codes with the codes module")["codes"]
    assert from_csv
    for csv_record, api_record in zip(from_csv, from_api, strict=True):
        assert csv_record == api_record
    (listed,) = run.ok("Fetch the same order's codes with the orders module")["voucher_orders"]
    assert listed["id"] == order_id
    assert listed["codes"] == from_csv
    run.ok("Compare record by record")
