"""Unit tests of the certops.digicert.voucher_codes_from_csv filter.

The CSV text is DigiCert's sample from the page "List codes for voucher order" (fixtures/documented_codes.csv);
the expected records are its rows written out by hand in tests/documented_samples.py, typed the way the page's
JSON sample types them (integers as integers, the blank " " dates as null).
"""

from __future__ import annotations

import certops_unit_support as support
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.certops.digicert.plugins.filter.voucher_codes_from_csv import (
    FilterModule,
    voucher_codes_from_csv,
)

from tests import documented_samples as samples

# The page's CSV sample, byte for byte (shared with the record normalizer's tests).
DOCUMENTED_CSV = support.documented_csv_text()
# Its rows typed; 49170 keeps the value the CSV sample gives it (see the slip in tests/documented_samples.py).
DOCUMENTED_RECORDS = [dict(samples.TYPED_49170, value=samples.CSV_VALUE_49170), *samples.TYPED_ORDER_25256]


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
