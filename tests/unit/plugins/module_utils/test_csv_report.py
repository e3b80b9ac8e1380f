"""Unit tests of plugins/module_utils/_csv_report.py: the exact bytes of our CSV reports."""

from __future__ import annotations

import io

import certops_unit_support as support
import pytest
from ansible_collections.certops.digicert.plugins.module_utils._csv_report import CodesCsvWriter
from ansible_collections.certops.digicert.plugins.module_utils._records import codes_from_json

from tests import documented_samples as samples


def render(codes, **options) -> str:
    stream = io.StringIO(newline="")
    writer = CodesCsvWriter(stream, **options)
    writer.write_all(codes)
    return stream.getvalue()


def test_documented_sample_exact_bytes():
    codes = codes_from_json(support.documented_json_text())
    assert render(codes).encode("utf-8") == samples.REPORT_25252.encode("utf-8")


def test_header_only_when_there_are_no_codes():
    assert render([]) == samples.CSV_HEADER + "\r\n"


def test_rows_written_is_counted_and_write_returns_the_code():
    stream = io.StringIO(newline="")
    writer = CodesCsvWriter(stream, columns=["id"])
    code = {"id": 1}
    assert writer.write(code) is code
    assert writer.rows_written == 1
    assert writer.write_all([{"id": 2}, {"id": 3}]) == 3
    assert stream.getvalue() == "id\r\n1\r\n2\r\n3\r\n"


def test_custom_columns_in_the_order_given_with_a_missing_column():
    codes = [dict(samples.TYPED_49170)]
    text = render(codes, columns=["value", "id", "redeemed_by", "order_valid_from"])
    assert text == "value,id,redeemed_by,order_valid_from\r\nZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS,49170,,\r\n"


def test_no_columns_is_an_error():
    with pytest.raises(ValueError, match="at least one column"):
        CodesCsvWriter(io.StringIO(), columns=[])


def test_byte_order_mark_comes_first_once():
    text = render([{"id": 1, "value": "A"}], columns=["id", "value"], byte_order_mark=True)
    assert text == "\ufeffid,value\r\n1,A\r\n"
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbfid,value\r\n")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("-cmd", "'-cmd"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("'=x", "''=x"),
        (-5, "-5"),
        (5, "5"),
        ("a-b", "a-b"),
        (None, ""),
        (True, "true"),
        (False, "false"),
    ],
    ids=repr,
)
def test_formula_cells_are_guarded_and_numbers_never(value, cell):
    assert render([{"x": value, "y": "end"}], columns=["x", "y"]) == f"x,y\r\n{cell},end\r\n"


def test_a_row_of_one_empty_cell_is_not_a_blank_line():
    # A blank line would be skipped by CSV readers; the lone empty cell is written as "".
    assert render([{"x": None}], columns=["x"]) == 'x\r\n""\r\n'


def test_carriage_return_cell_is_guarded_and_quoted():
    assert render([{"x": "\rcmd"}], columns=["x"]) == 'x\r\n"\'\rcmd"\r\n'


def test_a_harmless_leading_quote_is_written_as_is():
    assert render([{"x": "'x"}], columns=["x"]) == "x\r\n'x\r\n"


def test_formulas_written_as_is_when_not_neutralized():
    text = render([{"x": "=1+2"}, {"x": "'=x"}], columns=["x"], neutralize_formulas=False)
    assert text == "x\r\n=1+2\r\n'=x\r\n"


def test_non_ascii_quotes_and_commas_are_quoted_properly():
    text = render([{"id": 49260, "cert_organization": 'Müller & Søn, "Ærø"'}], columns=["id", "cert_organization"])
    assert text == 'id,cert_organization\r\n49260,"Müller & Søn, ""Ærø"""\r\n'
    assert text.encode("utf-8") == (
        b'id,cert_organization\r\n49260,"M\xc3\xbcller & S\xc3\xb8n, ""\xc3\x86r\xc3\xb8"""\r\n'
    )


def test_line_breaks_inside_a_cell_are_quoted():
    text = render([{"x": "two\nlines", "y": "cr\r\nlf"}], columns=["x", "y"])
    assert text == 'x,y\r\n"two\nlines","cr\r\nlf"\r\n'


def test_spaces_alone_do_not_cause_quotes():
    # DigiCert's own CSV quotes "Basic OV"; RFC 4180 does not require it, and we quote only where needed.
    assert render([{"x": "Basic OV"}], columns=["x"]) == "x\r\nBasic OV\r\n"


def test_a_structured_field_is_written_as_json_like_the_csv_answer_carries_it():
    stream = io.StringIO()
    CodesCsvWriter(stream, columns=("id", "extra")).write({"id": 7, "extra": {"sites": ["a.example", "b.example"]}})
    assert stream.getvalue() == 'id,extra\r\n7,"{""sites"":[""a.example"",""b.example""]}"\r\n'
