"""Unit tests of the voucher code allocation (module_utils/_allocation.py) and its filter plugin.

The expected allocations were worked out by hand from this table of scores, the first 8 bytes of
blake2b(common name + "\\n" + voucher_order_id + ":" + id) in hex; each host, in the order of its
common name, takes the free code with the highest score:

    common name           25260:49250       25260:49251       25260:49252       25260:49253       25261:49262
    a.example.com         bc9347a33e7e95ae  474aec04d2e699ce  860950a6ffc74f7b  379e446d5ab32e24  0f1e2a8863ec4271
    shop.example.com      343e4b0b1aa76698  e81faac35ab12cf0  9851277fe1c5b506  67d4b025fe424fad  a2f9d139aa4b2d80
    web1.example.com      c3ec60c6b45bc444  d675bbc80cbb6c54  f69fbbf9364538c7  939af69b48513501  d18db6de62d9f2e7
    web2.example.com      12dc14d6dfdf3eb4  035fabb4ada301c0  8eb6fd1c1b1098e1  9fd9d54c1e64669d  c79604b16962fc83
    web3.example.com      d8d9f7106ea198ea  95580bc47815fd56  7c4184e068b05cc3  2a190740cc2e80e0  986f5fb63db7db9f
    www.example.com       92302d781e9f760c  543d3ce2c23145bf  785d4bccbcf9e2ce  aa344a84d60f077a  2e1dfb8ce840a02f
"""

from __future__ import annotations

import datetime

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.certops.digicert.plugins.filter.voucher_allocation import FilterModule
from ansible_collections.certops.digicert.plugins.module_utils._allocation import (
    AllocationError,
    AllocationShortage,
    allocate_codes,
)

TODAY = datetime.date(2026, 8, 1)

# Values of the simulator's orders 25260 and 25261, so a failure reads like the integration tests.
K7QH, P3VN = "K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G", "P3VN6WQ2ZK7HTM4RXB5CJD2LFY6GSA3E"
M2XC, T6BW = "M2XC7RB4QV6ZNK3TWH5PJG2DLA7FYS6E", "T6BW3NZ7QH2KXV5RMC4PJA6DLG3FYS2E"
B7WN = "B7WN2XQ5ZK4RTH6VMC3PJD7LGA2FYS4E"


def code(code_id, value, order=25260, product="Basic OV", status="active", common_name=None, **fields):
    record = {
        "id": code_id,
        "value": value,
        "product_name": product,
        "status": status,
        "voucher_order_id": order,
        "cert_common_name": common_name,
        "cert_request_date": None,
        "voucher_validity_end_date": "2029-06-02",
    }
    record.update(fields)
    return record


def order_25260():
    return [
        code(49250, K7QH),
        code(49251, P3VN),
        code(49252, M2XC),
        code(49253, T6BW),
        code(49254, "Z4RK6TM2XB7QVN3WHC5PJD6LGA2FYS7E", product="Secure Site Pro EV SSL"),
        code(49255, "W5NQ3ZB6XK2RTV7MHC4PJD3LGA6FYS5E", product="Secure Site Pro EV SSL"),
    ]


def used_codes():
    """The documented samples (orders 25252 and 25256) and the used codes of order 25261."""
    return [
        code(
            49170,
            "ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS",
            order=25252,
            status="used",
            common_name="example.com",
            cert_request_date="2022-03-03 13:41:41",
        ),
        code(
            49178,
            "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM",
            order=25256,
            status="used",
            common_name="example.com",
            cert_request_date="2022-03-04 10:48:47",
        ),
        code(
            49179,
            "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5",
            order=25256,
            status="used",
            common_name="example.com",
            product="Secure Site Pro EV SSL",
            cert_request_date="2022-03-04 10:49:38",
        ),
        code(
            49260,
            "H4LQ7ZC2WN5XBK3RTV6MPJ2DGA4FYS3E",
            order=25261,
            status="used",
            common_name="shop.example.com",
            cert_request_date="2026-07-16 08:30:00",
        ),
    ]


def values(allocation):
    return {host: record["value"] for host, record in allocation.items()}


def allocate(codes, names, product="Basic OV", **options):
    options.setdefault("today", TODAY)
    return allocate_codes(codes, names, product, **options)


WEB = {"web1": "web1.example.com", "web2": "web2.example.com", "web3": "web3.example.com"}


# ---- the stable order -------------------------------------------------------------------------------------------


def test_each_host_gets_its_highest_scoring_free_code():
    # web1: 49252 scores highest (f69f...). web2, of 49250/49251/49253: 49253 (9fd9...). web3, of 49250/49251: 49250.
    assert values(allocate(order_25260(), WEB)) == {"web1": M2XC, "web2": T6BW, "web3": K7QH}


def test_the_answer_does_not_depend_on_the_order_of_codes_or_hosts():
    expected = values(allocate(order_25260(), WEB))
    rotated_codes = order_25260()
    rotated_codes = rotated_codes[3:] + rotated_codes[:3]
    reversed_hosts = dict(reversed(list(WEB.items())))
    assert values(allocate(rotated_codes, reversed_hosts)) == expected


def test_the_full_record_is_returned_as_a_copy():
    codes = order_25260()
    allocation = allocate(codes, {"web1": "web1.example.com"})
    assert allocation["web1"] == codes[2]
    allocation["web1"]["status"] = "changed by the caller"
    assert codes[2]["status"] == "active"


def test_a_new_host_moves_only_the_host_whose_best_code_it_takes():
    # a.example.com comes first and takes 49250 (bc93... is its best), which was web3's;
    # web1 and web2 keep theirs, and web3 takes the only code left, 49251.
    names = {"a": "a.example.com", **WEB}
    assert values(allocate(order_25260(), names)) == {"a": K7QH, "web1": M2XC, "web2": T6BW, "web3": P3VN}


def test_a_new_host_whose_best_code_was_free_moves_nobody():
    codes = [*order_25260(), code(49262, B7WN, order=25261)]
    # Without shop: web1 -> 49252, web2 -> 49262 (c796... beats 9fd9...), web3 -> 49250.
    before = values(allocate(codes, WEB))
    assert before == {"web1": M2XC, "web2": B7WN, "web3": K7QH}
    # shop.example.com comes first and takes 49251 (e81f...), which nobody had.
    after = values(allocate(codes, {"shop": "shop.example.com", **WEB}))
    assert after == {**before, "shop": P3VN}


def test_a_code_taken_elsewhere_is_never_handed_out():
    # Without 49252, web1 takes 49251 (d675...), web2 49253, web3 49250.
    allocation = allocate(order_25260(), WEB, taken=[M2XC])
    assert values(allocation) == {"web1": P3VN, "web2": T6BW, "web3": K7QH}
    assert values(allocate(order_25260(), WEB, taken=[{"value": M2XC}])) == values(allocation)


def test_kept_codes_stay_with_their_hosts_and_go_to_nobody_else():
    # As in an earlier serial batch: web3 was given 49250. a.example.com then takes 49252 (8609... beats
    # 474a... and 379e...), web1 takes 49251 (d675...), web2 the last one, 49253.
    kept = {"web3": code(49250, K7QH)}
    allocation = allocate(order_25260(), {"a": "a.example.com", **WEB}, kept=kept)
    assert values(allocation) == {"a": M2XC, "web1": P3VN, "web2": T6BW, "web3": K7QH}


def test_a_kept_code_is_shared_with_hosts_of_the_same_common_name():
    names = {"www-a": "www.example.com", "www-b": "www.example.com", "web2": "web2.example.com"}
    allocation = allocate(order_25260(), names, kept={"www-a": code(49250, K7QH), "gone": code(49253, T6BW)})
    # 49253 is kept by a host outside this allocation, so web2 takes 49252 (8eb6... beats 035f...).
    assert values(allocation) == {"www-a": K7QH, "www-b": K7QH, "web2": M2XC}


# ---- used codes -------------------------------------------------------------------------------------------------


def test_a_host_keeps_the_used_code_with_its_common_name():
    codes = [*used_codes(), *order_25260()]
    allocation = allocate(codes, {"legacy": "example.com", "shop": "shop.example.com", "web1": "web1.example.com"})
    # example.com is on 49170 and 49178 (Basic OV); 49178 was requested last. 49179 is another product.
    assert allocation["legacy"]["id"] == 49178
    assert allocation["legacy"]["status"] == "used"
    assert allocation["shop"]["id"] == 49260
    assert allocation["web1"]["value"] == M2XC


def test_used_codes_match_common_names_without_case_or_trailing_dot():
    allocation = allocate(used_codes(), {"legacy": "Example.COM."})
    assert allocation["legacy"]["id"] == 49178


def test_used_codes_of_another_product_are_not_kept():
    allocation = allocate([*used_codes(), *order_25260()], {"legacy": "example.com"}, "Secure Site Pro EV SSL")
    assert allocation["legacy"]["id"] == 49179


def test_a_host_with_a_used_code_needs_no_active_code():
    # Only used codes and no active one: no shortage, because nobody needs a new code.
    assert allocate(used_codes(), {"legacy": "example.com", "shop": "shop.example.com"})["shop"]["id"] == 49260


def test_the_same_id_requested_at_the_same_time_goes_to_the_highest_id():
    codes = [
        code(1, "A" * 32, status="used", common_name="www.example.com", cert_request_date="2026-01-01 10:00:00"),
        code(2, "B" * 32, status="used", common_name="www.example.com", cert_request_date="2026-01-01 10:00:00"),
    ]
    assert allocate(codes, {"www": "www.example.com"})["www"]["value"] == "B" * 32


# ---- shared common names ----------------------------------------------------------------------------------------


def test_hosts_with_the_same_common_name_share_one_code():
    names = {"www-a": "www.example.com", "www-b": "WWW.example.com", "web2": "web2.example.com"}
    # web2.example.com comes first and takes 49253 (9fd9...); www.example.com then takes 49250 (9230...).
    assert values(allocate(order_25260(), names)) == {"web2": T6BW, "www-a": K7QH, "www-b": K7QH}


def test_sharing_can_be_turned_off():
    names = {"www-a": "www.example.com", "www-b": "www.example.com", "web2": "web2.example.com"}
    with pytest.raises(AllocationError, match=r"www-a, www-b \(www.example.com\)"):
        allocate(order_25260(), names, share_common_names=False)


# ---- shortage ---------------------------------------------------------------------------------------------------


def test_shortage_names_the_product_and_the_number_missing():
    codes = [*used_codes(), code(49262, B7WN, order=25261)]
    with pytest.raises(AllocationShortage) as caught:
        allocate(codes, WEB)
    assert (
        str(caught.value) == "voucher_allocate: 3 hosts need a Basic OV code but only 1 active code is left; 2 missing"
    )
    assert (caught.value.needed, caught.value.available, caught.value.missing) == (3, 1, 2)


@pytest.mark.parametrize(
    ("names", "codes", "message"),
    [
        (
            {"web1": "web1.example.com"},
            [],
            "voucher_allocate: 1 host needs a Basic OV code but no active code is left; 1 missing",
        ),
        (
            {"a": "www.example.com", "b": "www.example.com", "c": "web2.example.com"},
            [code(49250, K7QH)],
            "voucher_allocate: 3 hosts (2 common names) need a Basic OV code but only 1 active code is left; 1 missing",
        ),
        (
            WEB,
            [code(49250, K7QH), code(49251, P3VN), code(49252, M2XC, voucher_validity_end_date="2026-07-31")],
            "voucher_allocate: 3 hosts need a Basic OV code but only 2 active codes are left; 1 missing"
            " (1 more active code has expired)",
        ),
    ],
)
def test_shortage_messages(names, codes, message):
    with pytest.raises(AllocationShortage) as caught:
        allocate(codes, names)
    assert str(caught.value) == message


def test_codes_of_other_products_and_statuses_do_not_count():
    codes = [code(1, "A" * 32, product="Basic EV"), code(2, "B" * 32, status="canceled"), code(3, "C" * 32)]
    assert values(allocate(codes, {"web1": "web1.example.com"})) == {"web1": "C" * 32}
    with pytest.raises(AllocationShortage):
        allocate(codes, WEB)


def test_expired_codes_are_not_handed_out_but_unreadable_end_dates_are():
    codes = [code(1, "A" * 32, voucher_validity_end_date="2026-07-31"), code(2, "B" * 32, voucher_validity_end_date="")]
    codes.append(code(3, "C" * 32, voucher_validity_end_date="someday"))
    codes.append(code(4, "D" * 32, voucher_validity_end_date="2026-08-01"))  # ends today: still usable
    allocation = allocate(codes, WEB)
    assert sorted(record["id"] for record in allocation.values()) == [2, 3, 4]


def test_a_code_listed_twice_counts_once():
    codes = [code(49250, K7QH), code(49250, K7QH)]
    with pytest.raises(AllocationShortage, match="only 1 active code is left"):
        allocate(codes, {"web1": "web1.example.com", "web2": "web2.example.com"})


def test_product_names_compare_without_case():
    assert values(allocate(order_25260(), {"web1": "web1.example.com"}, " basic ov "))["web1"] == M2XC


def test_no_hosts_no_codes():
    assert allocate(order_25260(), {}) == {}


# ---- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "names", "product", "message"),
    [
        ([], WEB, "", "a product name is needed"),
        ([], WEB, None, "a product name is needed"),
        ([], {"web1": ""}, "Basic OV", "host web1 has no common name"),
        ([], {"web1": None}, "Basic OV", "host web1 has no common name"),
        ([], ["web1"], "Basic OV", "must be a mapping of host to common name, not list"),
        (["K7QH"], WEB, "Basic OV", "a code record must be a mapping, not str"),
    ],
)
def test_bad_input_is_reported(codes, names, product, message):
    with pytest.raises(AllocationError, match=message):
        allocate_codes(codes, names, product)


def test_kept_must_be_a_mapping():
    with pytest.raises(AllocationError, match="kept codes must be a mapping of host to code, not list"):
        allocate_codes([], WEB, "Basic OV", kept=[K7QH])


def test_today_defaults_to_the_current_date():
    past = code(1, "A" * 32, voucher_validity_end_date=(datetime.date.today() - datetime.timedelta(days=1)).isoformat())
    with pytest.raises(AllocationShortage, match="1 more active code has expired"):
        allocate_codes([past], {"web1": "web1.example.com"}, "Basic OV")


# ---- the filter plugin ------------------------------------------------------------------------------------------


@pytest.fixture
def voucher_allocation():
    return FilterModule().filters()["voucher_allocation"]


def test_filter_returns_the_allocation(voucher_allocation):
    assert values(voucher_allocation(order_25260(), WEB, "Basic OV")) == {"web1": M2XC, "web2": T6BW, "web3": K7QH}


def test_filter_passes_taken_and_share_options(voucher_allocation):
    names = {"www-a": "www.example.com", "www-b": "www.example.com"}
    with pytest.raises(AnsibleFilterError, match="sharing a code is turned off"):
        voucher_allocation(order_25260(), names, "Basic OV", share_common_names="no")
    assert values(voucher_allocation(order_25260(), WEB, "Basic OV", taken=[M2XC]))["web1"] == P3VN
    kept = {"web1": code(49250, K7QH)}
    assert values(voucher_allocation(order_25260(), WEB, "Basic OV", kept=kept))["web1"] == K7QH


def test_filter_turns_a_shortage_into_a_filter_error(voucher_allocation):
    with pytest.raises(AnsibleFilterError, match=r"^voucher_allocate: 3 hosts need a Basic OV code but no active"):
        voucher_allocation([], WEB, "Basic OV")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (({"codes": []}, WEB, "Basic OV"), "the input must be a list of code records, not dict"),
        (([], "web1", "Basic OV"), "common_names must be a mapping of host to common name, not str"),
        (([], WEB, "Basic OV", True, "K7QH"), "taken must be a list, not str"),
        (([], WEB, "Basic OV", True, [], ["web1"]), "kept must be a mapping of host to code, not list"),
        (([], WEB, "Basic OV", "maybe"), "share_common_names"),
        (([], {"web1": None}, "Basic OV"), "host web1 has no common name"),
        (([], WEB, None), "a product name is needed"),
    ],
)
def test_filter_rejects_bad_arguments(voucher_allocation, arguments, message):
    with pytest.raises(AnsibleFilterError, match=message):
        voucher_allocation(*arguments)
