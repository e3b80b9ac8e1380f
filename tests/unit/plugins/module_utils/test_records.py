"""Unit tests of plugins/module_utils/_records.py.

Inputs are DigiCert's documented samples (fixtures/) and hand-made records; every expected value is written
out by hand in this file or in tests/documented_samples.py.
"""

from __future__ import annotations

import copy
import datetime
import io
import json

import certops_unit_support as support
import pytest
from ansible_collections.certops.digicert.plugins.module_utils import _records
from ansible_collections.certops.digicert.plugins.module_utils._records import (
    CODE_FIELDS,
    CodeSummary,
    RecordError,
    codes_from_json,
    filter_codes,
    iter_codes_from_csv,
    neutralize_formula,
    normalize_code,
    parse_voucher_order_ids,
    restore_formula,
)

from tests import documented_samples as samples


def csv_records(text: str, restore: bool = False) -> list[dict]:
    return list(iter_codes_from_csv(io.StringIO(text, newline=""), restore_formulas=restore))


# ---- the documented samples ------------------------------------------------------------------------------------


@pytest.mark.skipif(not support.SEED_PAGE.exists(), reason="DigiCert's page is not available here")
def test_fixtures_are_the_samples_of_digicerts_page():
    page = support.SEED_PAGE.read_text(encoding="utf-8")
    assert support.documented_json_text() in page
    assert support.documented_csv_text().rstrip("\n") in page


def test_hand_typed_samples_are_the_fixtures():
    """tests/documented_samples.py, typed by hand, says what the page's samples in fixtures/ say."""
    records = support.documented_json_records()
    assert records == [samples.JSON_SAMPLE_49170]
    assert list(records[0]) == samples.FIELDS
    assert support.documented_csv_text().splitlines() == [
        samples.CSV_HEADER,
        samples.CSV_SAMPLE_ROW_49170,
        samples.CSV_SAMPLE_ROW_49178,
        samples.CSV_SAMPLE_ROW_49179,
    ]


def test_code_fields_are_the_documented_csv_header():
    header = support.documented_csv_text().splitlines()[0].split(",")
    assert list(CODE_FIELDS) == header == samples.FIELDS


def test_normalize_code_types_the_documented_json_sample():
    record = support.documented_json_records()[0]
    normalized = normalize_code(record)
    assert normalized == samples.TYPED_49170
    # Exact types, not just equal values: "1" == 1 is False anyway, but bool/int and str/None are checked too.
    for field, value in normalized.items():
        expected = samples.TYPED_49170[field]
        assert type(value) is type(expected), field
    assert list(normalized) == samples.FIELDS


def test_normalize_code_works_in_place_and_returns_the_record():
    record = support.documented_json_records()[0]
    assert normalize_code(record) is record
    assert record["certificate_order_id"] == 204928159
    assert record["server_licenses"] == 1
    assert record["order_valid_from"] is None
    assert record["no_of_wildcards"] == 0


@pytest.mark.parametrize("body_type", [str, bytes])
def test_codes_from_json_of_the_documented_sample(body_type):
    text = support.documented_json_text()
    body = text if body_type is str else text.encode("utf-8")
    assert codes_from_json(body) == samples.TYPED_ORDER_25252


def test_codes_from_json_accepts_a_byte_order_mark_in_bytes():
    body = b"\xef\xbb\xbf" + support.documented_json_text().encode("utf-8")
    assert codes_from_json(body) == samples.TYPED_ORDER_25252


def test_json_and_csv_of_order_25252_normalize_to_the_same_records():
    # The CSV row of 25252 from the page, with the page's value slip put right (the JSON value is the real one).
    lines = support.documented_csv_lines_for(25252)
    assert samples.CSV_VALUE_49170 in lines[1]
    lines[1] = lines[1].replace(samples.CSV_VALUE_49170, samples.JSON_VALUE_49170)
    from_csv = list(iter_codes_from_csv(lines))
    from_json = codes_from_json(support.documented_json_text())
    assert from_csv == from_json == samples.TYPED_ORDER_25252
    assert list(from_csv[0]) == list(from_json[0]) == samples.FIELDS


def test_the_documented_csv_sample_reads_as_typed_records():
    records = csv_records(support.documented_csv_text())
    assert [r["id"] for r in records] == [49170, 49178, 49179]
    # The reader reports what the CSV says; it does not "correct" the documentation's slip.
    assert records[0] == dict(samples.TYPED_49170, value=samples.CSV_VALUE_49170)
    assert records[1:] == samples.TYPED_ORDER_25256


def test_csv_with_a_byte_order_mark_reads_like_without():
    text = support.documented_csv_text()
    assert csv_records("\ufeff" + text) == csv_records(text)
    first = csv_records("\ufeff" + text)[0]
    assert "id" in first and "\ufeffid" not in first


def test_csv_reader_takes_any_iterable_of_lines():
    lines = support.documented_csv_lines_for(25256)
    assert list(iter_codes_from_csv(iter(lines))) == samples.TYPED_ORDER_25256


def test_csv_header_names_are_trimmed_and_blank_lines_skipped():
    text = " id , value ,status\n\n7,AAAA,active\n\n"
    assert csv_records(text) == [{"id": 7, "value": "AAAA", "status": "active"}]


# ---- normalization rules ---------------------------------------------------------------------------------------


def test_unknown_future_fields_pass_through_unchanged():
    record = support.documented_json_records()[0]
    record.update(
        {
            "redeemed_by": "ops@example.com",
            "reseller_id": 77,
            "tags": ["a", "b"],
            "flags": {"x": True},
            "not_set_yet": " ",
            "ratio": 0.5,
        }
    )
    normalized = normalize_code(record)
    assert normalized["redeemed_by"] == "ops@example.com"
    assert normalized["reseller_id"] == 77
    assert normalized["tags"] == ["a", "b"]
    assert normalized["flags"] == {"x": True}
    assert normalized["ratio"] == 0.5
    # The blank rule is for every text field, DigiCert's " " included.
    assert normalized["not_set_yet"] is None
    assert list(normalized)[-6:] == ["redeemed_by", "reseller_id", "tags", "flags", "not_set_yet", "ratio"]


def test_codes_keep_the_order_of_the_answer():
    codes = [{"id": n, "value": f"V{n}"} for n in (5, 3, 9, 1, 7)]
    body = json.dumps({"codes": codes})
    assert [c["id"] for c in codes_from_json(body)] == [5, 3, 9, 1, 7]
    text = "id,value\n" + "".join(f"{n},V{n}\n" for n in (5, 3, 9, 1, 7))
    assert [c["id"] for c in csv_records(text)] == [5, 3, 9, 1, 7]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 42 ", 42), ("\t7\n", 7), ("0", 0), ("007", 7), ("-3", -3), ("+4", 4), (12, 12), (-1, -1)],
)
def test_integer_fields_from_strings_and_numbers(raw, expected):
    record = normalize_code({"id": 1, "no_of_fqdns": raw})
    assert record["no_of_fqdns"] == expected
    assert support.is_plain_int(record["no_of_fqdns"])


@pytest.mark.parametrize("blank", [" ", "", "   ", "\t", "\n"])
def test_blank_strings_become_none_in_text_and_integer_fields(blank):
    record = normalize_code({"id": 1, "cert_organization": blank, "certificate_order_id": blank})
    assert record == {"id": 1, "cert_organization": None, "certificate_order_id": None}


def test_null_integer_field_stays_none():
    assert normalize_code({"id": 1, "server_licenses": None}) == {"id": 1, "server_licenses": None}


def test_text_is_kept_exactly_including_surrounding_spaces():
    record = normalize_code({"id": 1, "cert_organization": "  Müller & Søn  ", "status": "USED"})
    assert record["cert_organization"] == "  Müller & Søn  "
    assert record["status"] == "USED"


@pytest.mark.parametrize(
    "bad",
    ["abc", True, False, 1.5, 2.0, {}, [], ["1"], "1.5", "12abc", "٣", "1 2"],
    ids=repr,
)
def test_bad_integer_raises_naming_field_and_record_number(bad):
    codes = [
        {"id": 1, "value": "A"},
        {"id": 2, "value": "B"},
        {"id": 3, "value": "C", "no_of_fqdns": bad},
    ]
    with pytest.raises(RecordError) as caught:
        codes_from_json(json.dumps({"codes": codes}))
    message = str(caught.value)
    assert "code record #3" in message
    assert "'no_of_fqdns'" in message
    assert "integer" in message


def test_bad_integer_in_csv_names_field_and_record_number():
    text = "id,value,validity_days\n1,A,0\n2,B,soon\n"
    with pytest.raises(RecordError, match=r"code record #2: field 'validity_days' should be an integer"):
        csv_records(text)


def test_bad_integer_message_describes_long_values_without_quoting_them():
    # A cut-off quote of a long value could show part of a secret that redaction no longer recognises.
    with pytest.raises(RecordError) as caught:
        normalize_code({"id": "x" * 500})
    message = str(caught.value)
    assert message.startswith("field 'id' should be an integer but is a str of ")
    assert "xxxxxxxx" not in message
    assert len(message) < 120


def test_bad_integer_message_counts_the_characters_of_the_value():
    with pytest.raises(RecordError, match="a str of 500 characters"):
        normalize_code({"id": "x" * 500})


def test_bad_integer_message_counts_the_items_of_a_long_list():
    with pytest.raises(RecordError, match="field 'id' should be an integer but is a list of 30 items"):
        normalize_code({"id": list(range(30))})


@pytest.mark.parametrize("record", ["x", 1, None, ["id", 1], True], ids=repr)
def test_a_record_that_is_not_an_object(record):
    with pytest.raises(RecordError, match=r"code record #2: a code record should be an object"):
        codes_from_json(json.dumps({"codes": [{"id": 1}, record]}))
    with pytest.raises(RecordError, match="should be an object"):
        normalize_code(record)


def test_shared_strings_share_repeated_values_but_not_ids_or_values():
    shared: dict = {}
    first = normalize_code({"id": 1, "value": "".join(["AB", "CD"]), "product_name": "".join(["Basic", " OV"])}, shared)
    second = normalize_code(
        {"id": 2, "value": "".join(["A", "BCD"]), "product_name": "".join(["Basic ", "OV"])}, shared
    )
    assert first["product_name"] == second["product_name"] == "Basic OV"
    assert first["product_name"] is second["product_name"]
    assert first["value"] is not second["value"]


# ---- codes_from_json errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", b"", "   ", b"\n\t ", None])
def test_empty_body(body):
    with pytest.raises(RecordError, match="the response body is empty"):
        codes_from_json(body)


def test_truncated_body_names_the_position():
    text = support.documented_json_text()
    with pytest.raises(RecordError, match=r"not valid JSON \(JSONDecodeError at line \d+, column \d+\)"):
        codes_from_json(text[: len(text) // 2])


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ('{"result": [], "page": {}}', "found: page, result"),
        ("{}", "found: an empty object"),
        ("[1, 2]", "found: list"),
        ('"codes"', "found: str"),
        ("null", "found: NoneType"),
    ],
)
def test_body_without_codes(body, found):
    with pytest.raises(RecordError) as caught:
        codes_from_json(body)
    assert "no 'codes' list" in str(caught.value)
    assert found in str(caught.value)


@pytest.mark.parametrize("codes", [{"a": 1}, "x", 3, None])
def test_codes_not_a_list(codes):
    with pytest.raises(RecordError, match="'codes' should be a list but is"):
        codes_from_json(json.dumps({"codes": codes}))


def test_html_page_instead_of_json():
    with pytest.raises(RecordError, match="not valid JSON"):
        codes_from_json("<!DOCTYPE html><html><body>Maintenance</body></html>")


def test_invalid_utf8_body_is_a_record_error():
    with pytest.raises(RecordError, match="not valid JSON"):
        codes_from_json(b'{"codes": ["\xff\xfe"]}')


def test_deeply_nested_json_is_a_record_error():
    with pytest.raises(RecordError):
        codes_from_json("[" * 100_000)


def test_integer_beyond_pythons_digit_limit_in_json_is_a_record_error():
    with pytest.raises(RecordError, match="'id'"):
        codes_from_json(json.dumps({"codes": [{"id": "1" * 5000}]}))


def test_integer_beyond_pythons_digit_limit_in_csv_is_a_record_error():
    with pytest.raises(RecordError, match="'id'"):
        csv_records("id,value\n" + "1" * 5000 + ",A\n")


# ---- CSV errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [[], io.StringIO(""), iter(())], ids=["list", "file", "iterator"])
def test_csv_empty_text(lines):
    with pytest.raises(RecordError, match="the CSV text is empty"):
        list(iter_codes_from_csv(lines))


@pytest.mark.parametrize(
    ("header", "missing"),
    [("value,status", "'id'"), ("id,status", "'value'"), ("status,product_name", "'id' or 'value'")],
)
def test_csv_missing_id_or_value_column(header, missing):
    with pytest.raises(RecordError) as caught:
        csv_records(header + "\nx,y\n")
    assert f"no {missing} column" in str(caught.value)
    assert "not a DigiCert voucher code list" in str(caught.value)


def test_csv_header_of_a_blank_line_is_missing_columns():
    with pytest.raises(RecordError, match="no 'id' or 'value' column"):
        csv_records("\n1,A\n")


def test_csv_duplicate_column():
    with pytest.raises(RecordError, match="names a column twice"):
        csv_records("id,value,status,status\n1,A,used,used\n")


def test_csv_duplicate_column_after_trimming():
    with pytest.raises(RecordError, match="names a column twice"):
        csv_records("id,value, id\n1,A,1\n")


@pytest.mark.parametrize(
    ("text", "line", "cells"),
    [
        ("id,value,status\n1,A,used\n2,B\n", 3, 2),
        ("id,value,status\n1,A,used,extra\n", 2, 4),
    ],
)
def test_csv_ragged_rows(text, line, cells):
    with pytest.raises(RecordError, match=rf"CSV line {line} has {cells} cells where the header has 3"):
        csv_records(text)


@pytest.mark.parametrize(
    "text",
    ['id,value\n1,"AB"CD\n', 'id,value\n1,"unterminated\n', 'id,value\n1,"A" \n'],
)
def test_csv_malformed_quotes(text):
    with pytest.raises(RecordError, match="the CSV text is malformed near line"):
        csv_records(text)


def test_csv_errors_are_raised_lazily_after_good_rows():
    reader = iter_codes_from_csv(io.StringIO('id,value\n1,A\n2,"B"x\n', newline=""))
    assert next(reader) == {"id": 1, "value": "A"}
    with pytest.raises(RecordError, match="line 3"):
        next(reader)


def test_csv_reader_restores_protected_formulas_only_when_asked():
    text = "id,value,cert_organization\n1,A,'=1+2\n2,B,'-cmd\n3,C,'x\n"
    assert [r["cert_organization"] for r in csv_records(text, restore=True)] == ["=1+2", "-cmd", "'x"]
    assert [r["cert_organization"] for r in csv_records(text)] == ["'=1+2", "'-cmd", "'x"]


def test_csv_quoted_cells_with_newlines_and_quotes():
    text = 'id,value,cert_organization\r\n1,A,"line one\r\nline ""two"", end"\r\n'
    assert csv_records(text) == [{"id": 1, "value": "A", "cert_organization": 'line one\r\nline "two", end'}]


# ---- filtering and the summary ---------------------------------------------------------------------------------

CODES_FOR_FILTERING = [
    {"id": 1, "status": "used", "product_name": "Basic OV"},
    {"id": 2, "status": "active", "product_name": "Basic OV"},
    {"id": 3, "status": "Active", "product_name": "Secure Site Pro EV SSL"},
    {"id": 4, "status": None, "product_name": None},
    {"id": 5, "status": "canceled", "product_name": "basic ov"},
]


@pytest.mark.parametrize(
    ("statuses", "products", "ids"),
    [
        (None, None, [1, 2, 3, 4, 5]),
        ([], [], [1, 2, 3, 4, 5]),
        (["ACTIVE"], None, [2, 3]),
        (["used", "canceled"], None, [1, 5]),
        (None, ["BASIC OV"], [1, 2, 5]),
        (["active"], ["basic ov"], [2]),
        (["expired"], None, []),
        (None, ["secure site pro ev ssl", "nothing"], [3]),
    ],
)
def test_filter_codes_case_insensitive(statuses, products, ids):
    kept = list(filter_codes(CODES_FOR_FILTERING, statuses, products))
    assert [code["id"] for code in kept] == ids


def test_filter_codes_is_lazy_and_keeps_the_records():
    source = iter(copy.deepcopy(CODES_FOR_FILTERING))
    kept = filter_codes(source, ["used"])
    first = next(kept)
    assert first == CODES_FOR_FILTERING[0]


TODAY = datetime.date(2026, 3, 10)


def _code(code_id, status, end, product="Basic OV"):
    return {
        "id": code_id,
        "value": f"SECRET{code_id}",
        "status": status,
        "product_name": product,
        "voucher_order_id": 25260,
        "voucher_validity_end_date": end,
    }


def test_code_summary_counts_and_expiring_window():
    summary = CodeSummary(expiry_window_days=30, today=TODAY)
    codes = [
        _code(11, "active", "2026-03-20"),  # 10 days left
        _code(12, "active", "2026-03-09"),  # ended yesterday: -1
        _code(13, "active", "2026-04-10"),  # 31 days: outside the window
        _code(14, "used", "2026-03-15"),  # used codes never expire for this purpose
        _code(15, "active", None),  # no date
        _code(16, "active", "soon"),  # not a date
        _code(17, "active", "2026-04-09 23:59:59", "Secure Site Pro EV SSL"),  # exactly 30 days: inside
        _code(10, "active", "2026-03-20"),  # ties on days_left are ordered by id
        {"id": 18, "status": None, "product_name": None},
    ]
    for code in codes:
        assert summary.add(code) is code
    result = summary.as_dict()
    assert result["total"] == 9
    assert result["by_status"] == {"active": 7, "unknown": 1, "used": 1}
    assert list(result["by_status"]) == ["active", "unknown", "used"]
    assert result["by_product"] == {"Basic OV": 7, "Secure Site Pro EV SSL": 1, "unknown": 1}
    assert result["expiring_within_days"] == 30
    assert result["expiring"] == [
        {
            "id": 12,
            "voucher_order_id": 25260,
            "product_name": "Basic OV",
            "voucher_validity_end_date": "2026-03-09",
            "days_left": -1,
        },
        {
            "id": 10,
            "voucher_order_id": 25260,
            "product_name": "Basic OV",
            "voucher_validity_end_date": "2026-03-20",
            "days_left": 10,
        },
        {
            "id": 11,
            "voucher_order_id": 25260,
            "product_name": "Basic OV",
            "voucher_validity_end_date": "2026-03-20",
            "days_left": 10,
        },
        {
            "id": 17,
            "voucher_order_id": 25260,
            "product_name": "Secure Site Pro EV SSL",
            "voucher_validity_end_date": "2026-04-09 23:59:59",
            "days_left": 30,
        },
    ]
    assert "SECRET" not in json.dumps(result)


def test_code_summary_without_window_has_no_expiry_keys():
    summary = CodeSummary(today=TODAY)
    summary.add(_code(1, "active", "2026-03-11"))
    assert summary.as_dict() == {"total": 1, "by_status": {"active": 1}, "by_product": {"Basic OV": 1}}


def test_code_summary_empty():
    assert CodeSummary(7, today=TODAY).as_dict() == {
        "total": 0,
        "by_status": {},
        "by_product": {},
        "expiring_within_days": 7,
        "expiring": [],
    }


def test_code_summary_defaults_to_the_real_today():
    today = datetime.date.today()
    summary = CodeSummary(0)
    summary.add(_code(1, "active", today.isoformat()))
    assert summary.as_dict()["expiring"][0]["days_left"] == 0


# ---- voucher order ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (25252, [25252]),
        ("25252", [25252]),
        ([" 25256 "], [25256]),
        ((25252, 25256), [25252, 25256]),
        ([25256, "25252", 25256, " 25252", 25260], [25256, 25252, 25260]),
        (["0025252"], [25252]),
    ],
)
def test_parse_voucher_order_ids_accepts(raw, expected):
    assert parse_voucher_order_ids(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["25252abc", "../voucher", -5, 0, "0", True, False, 1.5, "٣", "²", "+5", "25 252", {"id": 1}, [25252, None]],
    ids=repr,
)
def test_parse_voucher_order_ids_rejects(raw):
    with pytest.raises(ValueError) as caught:
        parse_voucher_order_ids(raw, option_name="voucher_order_id")
    message = str(caught.value)
    assert message.startswith("voucher_order_id: ")
    assert "is not a voucher order id" in message


@pytest.mark.parametrize("raw", ["", [], None])
def test_parse_voucher_order_ids_needs_one(raw):
    with pytest.raises(ValueError, match="terms needs at least one voucher order id"):
        parse_voucher_order_ids(raw, option_name="terms")


def test_parse_voucher_order_ids_rejects_before_accepting_any():
    with pytest.raises(ValueError, match="'x'"):
        parse_voucher_order_ids([25252, "x", 25256])


# ---- formula guard ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''x", "'''x"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (" =x", " =x"),
    ],
)
def test_neutralize_and_restore_formula(text, guarded):
    assert neutralize_formula(text) == guarded
    assert restore_formula(guarded) == text


def test_a_harmless_leading_quote_is_left_alone():
    assert neutralize_formula("'x") == "'x"


@pytest.mark.parametrize("text", ["'x", "'", "x", "'a=1"])
def test_restore_leaves_unguarded_text(text):
    assert restore_formula(text) == text


def test_formula_triggers_are_the_documented_ones():
    assert set(_records.FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}
