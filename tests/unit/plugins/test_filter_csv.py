"""Unit tests of the certops.digicert.voucher_codes_from_csv filter.

The CSV text is DigiCert's sample from the page "List codes for voucher order" (fixtures/documented_codes.csv);
the expected records are its rows written out by hand, typed the way the page's JSON sample types them
(integers as integers, the blank " " dates as null).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.certops.digicert.plugins.filter.voucher_codes_from_csv import (
    FilterModule,
    voucher_codes_from_csv,
)

# The page's CSV sample, byte for byte (shared with the record normalizer's tests).
DOCUMENTED_CSV = (Path(__file__).resolve().parent / "fixtures" / "documented_codes.csv").read_text(encoding="utf-8")

DOCUMENTED_RECORDS = [
    {
        "id": 49170,
        "value": "ZVB3EWIHDH3U63AOZU5QZ4W4TUTRPPCS",
        "product_name": "Basic OV",
        "no_of_fqdns": 5,
        "no_of_wildcards": 0,
        "shipping_method": "N/A",
        "validity_years": 3,
        "validity_days": 0,
        "status": "used",
        "created_date": "2022-03-03 13:31:03",
        "voucher_order_id": 25252,
        "cert_request_date": "2022-03-03 13:41:41",
        "cert_validity_start_date": None,
        "cert_validity_end_date": None,
        "cert_organization": "Example Inc.",
        "cert_common_name": "example.com",
        "certificate_order_id": 204928159,
        "voucher_validity_end_date": "2023-03-03",
        "order_valid_from": None,
        "order_valid_till": None,
        "server_licenses": 1,
    },
    {
        "id": 49178,
        "value": "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM",
        "product_name": "Basic OV",
        "no_of_fqdns": 5,
        "no_of_wildcards": 0,
        "shipping_method": "N/A",
        "validity_years": 3,
        "validity_days": 0,
        "status": "used",
        "created_date": "2022-03-03 14:43:28",
        "voucher_order_id": 25256,
        "cert_request_date": "2022-03-04 10:48:47",
        "cert_validity_start_date": None,
        "cert_validity_end_date": None,
        "cert_organization": "Example Inc.",
        "cert_common_name": "example.com",
        "certificate_order_id": 204928160,
        "voucher_validity_end_date": "2023-03-03",
        "order_valid_from": None,
        "order_valid_till": None,
        "server_licenses": 1,
    },
    {
        "id": 49179,
        "value": "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5",
        "product_name": "Secure Site Pro EV SSL",
        "no_of_fqdns": 2,
        "no_of_wildcards": 0,
        "shipping_method": "N/A",
        "validity_years": 3,
        "validity_days": 0,
        "status": "used",
        "created_date": "2022-03-03 14:43:28",
        "voucher_order_id": 25256,
        "cert_request_date": "2022-03-04 10:49:38",
        "cert_validity_start_date": None,
        "cert_validity_end_date": None,
        "cert_organization": "Example Corp.",
        "cert_common_name": "example.com",
        "certificate_order_id": 204928161,
        "voucher_validity_end_date": "2023-03-03",
        "order_valid_from": None,
        "order_valid_till": None,
        "server_licenses": 1,
    },
]


def test_documented_csv_sample_gives_the_documented_typed_records():
    assert voucher_codes_from_csv(DOCUMENTED_CSV) == DOCUMENTED_RECORDS


def test_field_order_follows_the_header():
    records = voucher_codes_from_csv(DOCUMENTED_CSV)
    assert list(records[0]) == list(DOCUMENTED_RECORDS[0])


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param("\ufeff" + DOCUMENTED_CSV, id="byte-order mark"),
        pytest.param(DOCUMENTED_CSV.replace("\n", "\r\n"), id="CRLF"),
        pytest.param(DOCUMENTED_CSV.rstrip("\n"), id="no final newline"),
        pytest.param(DOCUMENTED_CSV + "\n", id="trailing blank line"),
    ],
)
def test_spreadsheet_and_platform_variants_read_the_same(variant):
    assert voucher_codes_from_csv(variant) == DOCUMENTED_RECORDS


def test_str_subclasses_such_as_ansibles_text_types_are_accepted():
    class TaggedText(str):
        pass

    assert voucher_codes_from_csv(TaggedText(DOCUMENTED_CSV)) == DOCUMENTED_RECORDS


def test_quoted_cells_keep_commas_quotes_line_breaks_and_non_ascii():
    text = 'id,value,cert_organization,cert_common_name\n49260,H4LQ,"Müller & Søn, ""Ærø""\nNord",shop.example.com\n'
    assert voucher_codes_from_csv(text) == [
        {
            "id": 49260,
            "value": "H4LQ",
            "cert_organization": 'Müller & Søn, "Ærø"\nNord',
            "cert_common_name": "shop.example.com",
        }
    ]


def test_formula_guards_are_kept_unless_asked_to_restore_them():
    text = "id,value,cert_organization,cert_common_name\n49261,R2JX,'=1+2,'-cmd.example.com\n"
    assert voucher_codes_from_csv(text)[0]["cert_organization"] == "'=1+2"
    restored = voucher_codes_from_csv(text, restore_formulas=True)[0]
    assert restored["cert_organization"] == "=1+2"
    assert restored["cert_common_name"] == "-cmd.example.com"


def test_columns_beyond_digicerts_are_kept_as_text():
    assert voucher_codes_from_csv("id,value,note\n1,ABC,007\n") == [{"id": 1, "value": "ABC", "note": "007"}]


def test_a_header_only_file_has_no_records():
    assert voucher_codes_from_csv(DOCUMENTED_CSV.splitlines(keepends=True)[0]) == []


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(None, "NoneType"), (DOCUMENTED_CSV.encode(), "bytes"), ([DOCUMENTED_CSV], "list"), (42, "int")],
)
def test_non_string_input_is_refused_clearly(value, type_name):
    with pytest.raises(AnsibleFilterError) as caught:
        voucher_codes_from_csv(value)
    assert str(caught.value).startswith(f"voucher_codes_from_csv expects the CSV text as a string, not {type_name}; ")


def test_restore_formulas_must_be_a_boolean():
    with pytest.raises(AnsibleFilterError, match=r"restore_formulas must be true or false, not 'yes'"):
        voucher_codes_from_csv(DOCUMENTED_CSV, restore_formulas="yes")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the CSV text is empty"),
        ("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n", "the CSV header has no 'id' or 'value' column"),
        ('{"codes": []}', "the CSV header has no 'id' or 'value' column"),
        ("id,value\n1,ABC,extra\n", "CSV line 2 has 3 cells where the header has 2"),
        ("id,value,id\n1,A,1\n", "the CSV header names a column twice"),
        ("id,value\nabc,ABC\n", "code record #1: field 'id' should be an integer but is str 'abc'"),
        ('id,value\n1,"ABC\n', "the CSV text is malformed near line 2"),
    ],
)
def test_text_that_is_not_a_voucher_code_csv_is_refused_clearly(text, reason):
    with pytest.raises(AnsibleFilterError) as caught:
        voucher_codes_from_csv(text)
    message = str(caught.value)
    assert message.startswith("voucher_codes_from_csv: this is not a DigiCert voucher code CSV: ")
    assert reason in message


def test_the_plugin_exposes_the_filter_under_its_name():
    assert FilterModule().filters() == {"voucher_codes_from_csv": voucher_codes_from_csv}
