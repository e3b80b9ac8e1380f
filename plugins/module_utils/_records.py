# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: voucher code records, their normalizer and DigiCert's CSV reader.

Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
from collections.abc import Iterable, Iterator

# DigiCert's 21 fields, in the order of the CSV header of "List codes for voucher order".
CODE_FIELDS: tuple[str, ...] = (
    "id",
    "value",
    "product_name",
    "no_of_fqdns",
    "no_of_wildcards",
    "shipping_method",
    "validity_years",
    "validity_days",
    "status",
    "created_date",
    "voucher_order_id",
    "cert_request_date",
    "cert_validity_start_date",
    "cert_validity_end_date",
    "cert_organization",
    "cert_common_name",
    "certificate_order_id",
    "voucher_validity_end_date",
    "order_valid_from",
    "order_valid_till",
    "server_licenses",
)

# DigiCert documents some of these as strings and sends others as strings; we always return integers.
INTEGER_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "no_of_fqdns",
        "no_of_wildcards",
        "validity_years",
        "validity_days",
        "voucher_order_id",
        "certificate_order_id",
        "server_licenses",
    }
)

# Strings that are unique per code are not worth sharing between records.
_UNSHARED_FIELDS = frozenset({"id", "value"})
_DECIMAL = re.compile(r"[+-]?[0-9]+")
_BYTE_ORDER_MARK = "\ufeff"


class RecordError(ValueError):
    """A response body or CSV text that is not a list of DigiCert code records."""


def _to_integer(field: str, value: object) -> int:
    # bool is an int subclass in Python, but true/false in an integer field is a broken record.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # Real ids are far shorter; the bound also keeps int() clear of Python's 4300-digit limit.
    if isinstance(value, str) and len(value) <= 64 and _DECIMAL.fullmatch(value.strip()):
        return int(value.strip())
    raise RecordError(f"field '{field}' should be an integer but is {_describe(value)}")


def _describe(value: object) -> str:
    # Long values are described, not quoted: a cut-off quote could show part of a secret that the
    # caller would no longer recognise and redact.
    text = repr(value)
    if len(text) > 40:
        if isinstance(value, (list, dict)):
            size = f"{len(value)} items"
        else:
            size = f"{len(value) if isinstance(value, str) else len(text)} characters"
        return f"a {type(value).__name__} of {size}"
    return f"{type(value).__name__} {text}"


def normalize_record(
    record: dict, integer_fields: frozenset[str], shared_strings: dict | None = None, kind: str = "code"
) -> dict:
    """Normalize one DigiCert record in place and return it.

    Fields in ``integer_fields`` become ``int``; an empty or all-blank string (DigiCert sends ``" "``)
    becomes ``None``; everything else, including fields DigiCert may add later, is kept as sent.
    ``shared_strings`` lets a caller share repeated values (product names, dates) across the records
    of one large order instead of holding one copy per record.
    """
    if not isinstance(record, dict):
        raise RecordError(f"a {kind} record should be an object but is {_describe(record)}")
    for field, value in record.items():
        if isinstance(value, str) and not value.strip():
            record[field] = None
        elif field in integer_fields:
            if value is not None:
                record[field] = _to_integer(field, value)
        elif shared_strings is not None and isinstance(value, str) and field not in _UNSHARED_FIELDS:
            record[field] = shared_strings.setdefault(value, value)
    return record


def normalize_code(record: dict, shared_strings: dict | None = None) -> dict:
    """Normalize one voucher code record in place (see :func:`normalize_record`) and return it."""
    return normalize_record(record, INTEGER_FIELDS, shared_strings)


def _normalize_all(records: Iterable, first_index: int = 0, shared_strings: dict | None = None) -> Iterator[dict]:
    shared_strings = {} if shared_strings is None else shared_strings
    for index, record in enumerate(records, start=first_index):
        try:
            yield normalize_code(record, shared_strings)
        except RecordError as exc:
            raise RecordError(f"code record #{index + 1}: {exc}") from None


def codes_from_json(body: bytes | str) -> list[dict]:
    """Parse a ``{"codes": [...]}`` body and return its normalized records, in the API's order."""
    if not body or not body.strip():
        raise RecordError("the response body is empty")
    shared_strings: dict = {}

    def share_repeated_strings(record: dict) -> dict:
        # Runs as each object is parsed, so the many copies of a date or product name die young and
        # their memory is reused, instead of living until normalization and raising the peak.
        for field, value in record.items():
            if isinstance(value, str) and field not in _UNSHARED_FIELDS:
                record[field] = shared_strings.setdefault(value, value)
        return record

    try:
        document = json.loads(body, object_hook=share_repeated_strings)
    except ValueError as exc:
        raise RecordError(
            f"the response body is not valid JSON ({exc.__class__.__name__} at {_position(exc)})"
        ) from None
    except RecursionError:
        raise RecordError("the response body is JSON nested too deeply to be a list of codes") from None
    if not isinstance(document, dict) or "codes" not in document:
        keys = ", ".join(sorted(document)[:5]) if isinstance(document, dict) else type(document).__name__
        raise RecordError(f"the response has no 'codes' list (found: {keys or 'an empty object'})")
    codes = document["codes"]
    if not isinstance(codes, list):
        raise RecordError(f"'codes' should be a list but is {_describe(codes)}")
    # Normalizing in place keeps one copy of each record in memory, which matters for large orders.
    for _record in _normalize_all(codes, shared_strings=shared_strings):
        pass
    return codes


def _position(exc: ValueError) -> str:
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    return f"line {line}, column {column}" if line is not None else "an unknown position"


def iter_codes_from_csv(
    lines: Iterable[str], restore_formulas: bool = False, required_columns: Iterable[str] = ("id", "value")
) -> Iterator[dict]:
    """Read DigiCert's CSV (or a report written by this collection) and yield normalized records.

    ``lines`` is any iterable of text lines, such as an open file or a streamed response, so a large
    download is never held whole. A leading byte-order mark, as spreadsheets add, is accepted.
    With ``restore_formulas``, cells that our CSV writer protected against formula execution get
    their original text back. ``required_columns`` must all be in the header; an API answer asks for
    all of DigiCert's fields, so that an answer cut inside its header is not read as an empty order.
    """
    reader = csv.reader(_without_bom(lines), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RecordError("the CSV text is empty")
        header = [name.strip() for name in header]
        missing = [name for name in required_columns if name not in header]
        if missing:
            named = " or ".join(repr(name) for name in missing[:3])
            more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
            raise RecordError(f"the CSV header has no {named} column{more}; this is not a DigiCert voucher code list")
        if len(set(header)) != len(header):
            raise RecordError("the CSV header names a column twice")
        yield from _normalize_all(_csv_records(reader, header, restore_formulas))
    except csv.Error as exc:
        raise RecordError(f"the CSV text is malformed near line {reader.line_num}: {exc}") from None


def _csv_records(reader, header: list[str], restore_formulas: bool) -> Iterator[dict]:
    width = len(header)
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            raise RecordError(f"CSV line {reader.line_num} has {len(row)} cells where the header has {width}")
        if restore_formulas:
            row = [restore_formula(cell) for cell in row]
        yield dict(zip(header, row, strict=True))


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    yield first[1:] if first.startswith(_BYTE_ORDER_MARK) else first
    yield from iterator


# Cells starting with these are run as formulas by spreadsheets; see the CSV writer.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# The writer also guards a leading quote so the guard can be undone without ambiguity.
FORMULA_GUARD = "'"


def neutralize_formula(text: str) -> str:
    """Prefix text a spreadsheet would execute with a quote, so it is shown as text.

    Text that already starts with the guard is prefixed too when :func:`restore_formula` would
    otherwise strip it, so reading back always gives the original text.
    """
    if text.startswith(FORMULA_TRIGGERS) or restore_formula(text) != text:
        return FORMULA_GUARD + text
    return text


def restore_formula(text: str) -> str:
    """Undo :func:`neutralize_formula`."""
    if text.startswith(FORMULA_GUARD) and text[1:].startswith((*FORMULA_TRIGGERS, FORMULA_GUARD)):
        return text[1:]
    return text


def filter_codes(codes: Iterable[dict], statuses=None, product_names=None) -> Iterator[dict]:
    """Keep codes whose status and product name are among those given (case-insensitive)."""
    wanted_statuses = {s.casefold() for s in statuses} if statuses else None
    wanted_products = {p.casefold() for p in product_names} if product_names else None
    for code in codes:
        if wanted_statuses is not None and str(code.get("status") or "").casefold() not in wanted_statuses:
            continue
        if wanted_products is not None and str(code.get("product_name") or "").casefold() not in wanted_products:
            continue
        yield code


class CodeSummary:
    """Counts of codes by status and by product, built one record at a time.

    With ``expiry_window_days``, unused codes whose voucher validity ends within that many days of
    ``today`` are listed too (by id, never by value: the summary is meant to be shown and logged).
    """

    def __init__(self, expiry_window_days: int | None = None, today: datetime.date | None = None) -> None:
        self.total = 0
        self.by_status: dict[str, int] = {}
        self.by_product: dict[str, int] = {}
        self.expiry_window_days = expiry_window_days
        self._today = today or datetime.date.today()
        self.expiring: list[dict] = []

    def add(self, code: dict) -> dict:
        self.total += 1
        status = code.get("status") or "unknown"
        product = code.get("product_name") or "unknown"
        self.by_status[status] = self.by_status.get(status, 0) + 1
        self.by_product[product] = self.by_product.get(product, 0) + 1
        if self.expiry_window_days is not None and status == "active":
            days_left = days_until(code.get("voucher_validity_end_date"), self._today)
            if days_left is not None and days_left <= self.expiry_window_days:
                self.expiring.append(
                    {
                        "id": code.get("id"),
                        "voucher_order_id": code.get("voucher_order_id"),
                        "product_name": code.get("product_name"),
                        "voucher_validity_end_date": code.get("voucher_validity_end_date"),
                        "days_left": days_left,
                    }
                )
        return code

    def as_dict(self) -> dict:
        summary = {
            "total": self.total,
            "by_status": dict(sorted(self.by_status.items())),
            "by_product": dict(sorted(self.by_product.items())),
        }
        if self.expiry_window_days is not None:
            summary["expiring_within_days"] = self.expiry_window_days
            summary["expiring"] = sorted(self.expiring, key=lambda item: (item["days_left"], item["id"] or 0))
        return summary


def days_until(date_text, today: datetime.date) -> int | None:
    """Days from ``today`` to a DigiCert date (``YYYY-MM-DD``, or a timestamp starting with one).

    Negative once the date has passed; None for a missing or unreadable date, which is DigiCert's to
    enforce, not ours.
    """
    if not isinstance(date_text, str):
        return None
    try:
        return (datetime.date.fromisoformat(date_text.strip()[:10]) - today).days
    except ValueError:
        return None


def parse_voucher_order_ids(raw_ids, option_name: str = "voucher_order_id") -> list[int]:
    """Validate every id before any request is sent; return them as integers, duplicates dropped."""
    if raw_ids is None or raw_ids == [] or raw_ids == "":
        raise ValueError(f"{option_name} needs at least one voucher order id")
    if not isinstance(raw_ids, (list, tuple)):
        raw_ids = [raw_ids]
    order_ids: list[int] = []
    for raw in raw_ids:
        order_id = _parse_one_id(raw)
        if order_id is None:
            raise ValueError(
                f"{option_name}: {raw!r} is not a voucher order id; ids are positive whole numbers such as 25252"
            )
        if order_id not in order_ids:
            order_ids.append(order_id)
    return order_ids


def _parse_one_id(raw) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw > 0 else None
    if isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        value = int(raw.strip())
        return value if value > 0 else None
    return None
