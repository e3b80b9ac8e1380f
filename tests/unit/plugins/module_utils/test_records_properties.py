"""Property tests: any record DigiCert could send survives JSON -> normalize -> our CSV -> our CSV reader.

The expected normalization is a small model written here from the documented rules (integer fields become
int, all-blank text becomes None, everything else is kept), not taken from the code under test.
"""

from __future__ import annotations

import io
import json
import string

from ansible_collections.certops.digicert.plugins.module_utils._csv_report import CodesCsvWriter
from ansible_collections.certops.digicert.plugins.module_utils._records import (
    RecordError,
    codes_from_json,
    iter_codes_from_csv,
    neutralize_formula,
    restore_formula,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import documented_samples as samples

# Deterministic wherever it runs: a fixed sequence of examples and no example database.
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_FIELDS = [name for name in samples.FIELDS if name not in samples.INTEGER_FIELDS]

awkward_characters = st.sampled_from(list(",\"'\r\n \t=+-@;|\\ÄøÆ漢😀\u00a0\u2028\x0b\x1f"))
text_values = st.one_of(
    st.text(max_size=40),
    st.text(awkward_characters, max_size=12),
    st.sampled_from(["", " ", "   ", "\t", "\r\n", "Basic OV", "N/A", "2022-03-03 13:31:03", 'Müller & Søn, "Ærø"']),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from([*TRIGGERS, "'", "''", "'=", "'-", " ="]),
        st.text(max_size=20),
    ),
    st.none(),
)
digit_strings = st.builds(
    lambda digits, left, right: left + digits + right,
    st.text(string.digits, min_size=1, max_size=15),
    st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["", " ", "\n"]),
)
integer_values = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15),
    digit_strings,
    st.sampled_from([" ", "", None]),
)


@st.composite
def digicert_records(draw):
    return {name: draw(integer_values if name in samples.INTEGER_FIELDS else text_values) for name in samples.FIELDS}


def expected_normalized(record: dict) -> dict:
    """The documented rules, written independently of _records.normalize_code."""
    result = {}
    for name, value in record.items():
        if isinstance(value, str) and value.strip() == "":
            result[name] = None
        elif name in samples.INTEGER_FIELDS and isinstance(value, str):
            result[name] = int(value.strip())
        else:
            result[name] = value
    return result


def write_csv(records, neutralize: bool, bom: bool) -> str:
    stream = io.StringIO(newline="")
    writer = CodesCsvWriter(stream, neutralize_formulas=neutralize, byte_order_mark=bom)
    assert writer.write_all(records) == len(records)
    return stream.getvalue()


def read_csv(text: str, restore: bool) -> list[dict]:
    return list(iter_codes_from_csv(io.StringIO(text, newline=""), restore_formulas=restore))


@PROPERTY_SETTINGS
@given(st.lists(digicert_records(), min_size=1, max_size=4))
def test_records_round_trip_through_json_and_our_csv(raw_records):
    body = json.dumps({"codes": raw_records}, ensure_ascii=False)
    normalized = codes_from_json(body.encode("utf-8"))
    assert normalized == [expected_normalized(record) for record in raw_records]

    for bom in (False, True):
        plain = write_csv(normalized, neutralize=False, bom=bom)
        assert plain.startswith("\ufeff") == bom
        # Without neutralization the CSV holds the text as is and reads back as is.
        assert read_csv(plain, restore=False) == normalized

        guarded = write_csv(normalized, neutralize=True, bom=bom)
        assert read_csv(guarded, restore=True) == normalized

        # Read without restoring, a guarded cell keeps its one extra leading quote; nothing else changes.
        unrestored = read_csv(guarded, restore=False)
        for before, after in zip(normalized, unrestored, strict=True):
            for name, value in before.items():
                if isinstance(value, str) and value.startswith(TRIGGERS):
                    assert after[name] == "'" + value
                elif isinstance(value, str):
                    assert after[name] in (value, "'" + value)
                else:
                    assert after[name] == value


@PROPERTY_SETTINGS
@given(st.text())
def test_formula_guard_is_undone_exactly(text):
    guarded = neutralize_formula(text)
    assert restore_formula(guarded) == text
    assert not guarded.startswith(TRIGGERS)


def _json_values():
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False),
        st.text(max_size=10),
    )
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    )


@PROPERTY_SETTINGS
@given(st.one_of(st.text(), st.binary()))
def test_codes_from_json_fails_only_with_record_error_on_any_text(body):
    try:
        codes = codes_from_json(body)
    except RecordError:
        return
    assert isinstance(codes, list)


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(_json_values(), digicert_records()), max_size=4))
def test_codes_from_json_fails_only_with_record_error_on_any_codes_list(codes):
    try:
        result = codes_from_json(json.dumps({"codes": codes}))
    except RecordError:
        return
    assert all(isinstance(record, dict) for record in result)


@PROPERTY_SETTINGS
@given(st.one_of(st.text(), st.builds(lambda rest: "id,value\n" + rest, st.text())))
def test_csv_reader_fails_only_with_record_error_on_any_text(text):
    try:
        records = read_csv(text, restore=False)
    except RecordError:
        return
    assert all(isinstance(record, dict) for record in records)


@PROPERTY_SETTINGS
@given(st.binary())
def test_csv_reader_fails_only_with_record_error_on_any_bytes_decoded_leniently(data):
    text = data.decode("utf-8", errors="surrogateescape")
    try:
        read_csv(text, restore=True)
    except RecordError:
        pass
