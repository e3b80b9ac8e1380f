# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: finding voucher orders through ``GET /voucher``, page by page.

Nothing here is a public API; it may change in any release. Module and lookup code call these
functions with their own :class:`DigiCertClient`, so paging, filter checks and record typing are
written once for every plugin that needs "the voucher orders matching these filters".
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping

from ansible_collections.certops.digicert.plugins.module_utils._api import DigiCertAPIError, DigiCertClient
from ansible_collections.certops.digicert.plugins.module_utils._records import (
    RecordError,
    _to_integer,
    normalize_record,
)

ORDERS_PATH = "voucher"
# DigiCert's documented values for the two enumerated filters of GET /voucher.
ORDER_STATUSES: tuple[str, ...] = ("completed", "canceled")
CODES_STATUSES: tuple[str, ...] = ("none", "unused", "partial", "used")
ORDER_FILTER_NAMES: tuple[str, ...] = (
    "status",
    "codes_status",
    "product_name_id",
    "name",
    "created_date",
    "expiration_date",
)
# Order record fields returned as integers, whatever type DigiCert sends.
ORDER_INTEGER_FIELDS: frozenset[str] = frozenset({"id", "codes_count", "codes_used_count"})
MAX_PAGE_SIZE = 1000
DEFAULT_MAX_PAGES = 100
# Several values of a filter cost one listing each, and several filters multiply: keep that bounded.
MAX_FILTER_COMBINATIONS = 32

_DATE_FILTERS = ("created_date", "expiration_date")
_PRODUCT_NAME_ID = re.compile(r"[a-z0-9][a-z0-9_]*")
_SORT_TERM = re.compile(r"-?[a-z][a-z0-9_]*")
_RANGE_SEPARATOR = "..."
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class VoucherOrderPagingError(DigiCertAPIError):
    """Paging did not reach the end of the list: the page limit was hit or the offset did not advance."""


# -- records ---------------------------------------------------------------------------------


def normalize_voucher_order(record: object) -> dict:
    """Type one voucher order record in place, by the same rules as the code records, and return it.

    Integer fields (:data:`ORDER_INTEGER_FIELDS`) become ``int``; an empty or all-blank string becomes
    ``None``; everything else, nested lists included, is kept as DigiCert sent it.
    """
    if not isinstance(record, dict):
        raise RecordError(f"a voucher order record should be an object but is {type(record).__name__}")
    normalize_record(record, ORDER_INTEGER_FIELDS, kind="voucher order")
    order_id = record.get("id")
    if not isinstance(order_id, int) or order_id <= 0:
        raise RecordError("a voucher order record has no positive 'id'")
    return record


# -- filters and sorting ---------------------------------------------------------------------


def build_order_filters(values: Mapping[str, object] | None, option_prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Check filter values against DigiCert's documented choices; return ``{name: (value, ...)}``.

    ``values`` maps filter names (:data:`ORDER_FILTER_NAMES`) to one value or a list of values, where
    several values mean "any of them"; ``None`` and empty lists are left out. Error messages name the
    option as ``option_prefix + name``, so a plugin that nests the filters under one option (say
    ``voucher_orders.``) gets messages that point at what the user wrote. Raises ``ValueError``.
    Calling it again on its own result returns the same filters.
    """
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ValueError(f"{option_prefix.rstrip('.') or 'filters'} must be a dictionary of voucher order filters")
    unknown = sorted(str(name) for name in values if name not in ORDER_FILTER_NAMES)
    if unknown:
        raise ValueError(
            f"{option_prefix}{unknown[0]} is not a voucher order filter; use {', '.join(ORDER_FILTER_NAMES)}"
        )
    filters: dict[str, tuple[str, ...]] = {}
    for name in ORDER_FILTER_NAMES:
        raw = values.get(name)
        items = list(raw) if isinstance(raw, (list, tuple)) else [] if raw is None else [raw]
        checked: list[str] = []
        for item in items:
            value = _check_filter_value(name, item, option_prefix + name)
            if value not in checked:
                checked.append(value)
        if checked:
            filters[name] = tuple(checked)
    combinations = 1
    for checked_values in filters.values():
        combinations *= len(checked_values)
    if combinations > MAX_FILTER_COMBINATIONS:
        raise ValueError(
            f"these filters need {combinations} separate listings (one per combination of values); "
            f"at most {MAX_FILTER_COMBINATIONS} are allowed: give fewer values"
        )
    return filters


def _check_filter_value(name: str, value: object, option: str) -> str:
    if name in _DATE_FILTERS and isinstance(value, datetime.date):
        # YAML turns an unquoted 2026-01-31 into a date; DigiCert wants the text.
        return value.isoformat()[:10]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{option} must be a non-empty string, not {value!r}")
    text = value.strip()
    if name in ("status", "codes_status"):
        choices = ORDER_STATUSES if name == "status" else CODES_STATUSES
        if text.lower() not in choices:
            raise ValueError(f"{option}: {text!r} is not one of {', '.join(choices)}")
        return text.lower()
    if name == "product_name_id":
        if not _PRODUCT_NAME_ID.fullmatch(text):
            raise ValueError(
                f"{option}: {text!r} is not a DigiCert product identifier; use an identifier such as "
                "ssl_basic or ssl_ev_securesite_pro, not a display name such as 'Basic OV'"
            )
        return text
    if name in _DATE_FILTERS:
        return _check_date_range(text, option)
    return text


def _check_date_range(text: str, option: str) -> str:
    low, separator, high = (part.strip() for part in text.partition(_RANGE_SEPARATOR))
    if not separator:
        high = low
    try:
        if not (_ISO_DATE.fullmatch(low) and _ISO_DATE.fullmatch(high)):
            raise ValueError(text)
        first, last = datetime.date.fromisoformat(low), datetime.date.fromisoformat(high)
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a date YYYY-MM-DD or a range YYYY-MM-DD...YYYY-MM-DD") from None
    if first > last:
        raise ValueError(f"{option}: the range {text!r} ends before it starts")
    return f"{low}{_RANGE_SEPARATOR}{high}" if separator else low


def check_sort(sort: object, option_name: str = "sort") -> str | None:
    """Check a ``sort`` value: field names, each with an optional ``-`` for descending, comma separated.

    The fields themselves are left to DigiCert, which answers an unknown one with its own error.
    """
    if sort is None or (isinstance(sort, str) and not sort.strip()):
        return None
    if not isinstance(sort, str):
        raise ValueError(f"{option_name} must be a string such as -created_date, not {sort!r}")
    terms = [term.strip() for term in sort.split(",")]
    if not all(_SORT_TERM.fullmatch(term) for term in terms):
        raise ValueError(
            f"{option_name}: {sort!r} is not a sort order; use a field name such as created_date, "
            "with a leading - for descending (-created_date), several separated by commas"
        )
    return ",".join(terms)


def check_paging(page_size: object, max_pages: object) -> None:
    """Check the paging options before any request is sent; raises ``ValueError``."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size!r}")
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise ValueError(f"max_pages must be a whole number of at least 1, not {max_pages!r}")


# -- listing ---------------------------------------------------------------------------------


def iter_voucher_orders(
    client: DigiCertClient,
    filters: Mapping[str, object] | None = None,
    sort: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    max_pages: int = DEFAULT_MAX_PAGES,
    warn: Callable[[str], None] | None = None,
) -> Iterator[dict]:
    """Yield every voucher order matching ``filters``, normalized, following DigiCert's pages.

    ``filters`` is what :func:`build_order_filters` returns (raw values are checked again). A filter with
    several values is one listing per value (per combination, with several such filters), one after the
    other; each listing is in ``sort`` order (DigiCert's default order when ``None``) and an order found
    by an earlier listing is not yielded again. Each listing reads at most ``max_pages`` pages of
    ``page_size`` orders and raises :class:`VoucherOrderPagingError` if that does not reach the end.
    An empty page ends a listing early; ``warn`` is told when DigiCert had announced more orders.
    Raises ``ValueError`` for bad arguments and :class:`DigiCertAPIError` for failed requests.
    """
    checked = build_order_filters(filters)
    sort = check_sort(sort)
    check_paging(page_size, max_pages)
    names = list(checked)
    yielded: set[int] = set()
    for combination in itertools.product(*(checked[name] for name in names)):
        params = {f"filters[{name}]": value for name, value in zip(names, combination, strict=True)}
        if sort:
            params["sort"] = sort
        for order in _iter_listing(client, params, page_size, max_pages, warn):
            if order["id"] not in yielded:
                yielded.add(order["id"])
                yield order


def _iter_listing(client: DigiCertClient, params: dict, page_size: int, max_pages: int, warn) -> Iterator[dict]:
    offset = 0
    seen: set[int] = set()
    for page_number in range(1, max_pages + 1):
        orders, total = _fetch_page(client, {**params, "limit": page_size, "offset": offset})
        client.log(
            f"voucher order list, page {page_number}: {len(orders)} orders at offset {offset} of "
            f"{total if total is not None else 'an unknown number'}"
        )
        if not orders:
            if total is not None and offset < total:
                _tell(
                    warn,
                    client,
                    f"DigiCert announced {total} voucher orders but the page at offset {offset} is empty; "
                    "the list may have changed while it was read, so it may be incomplete",
                )
            return
        new_ids = {order["id"] for order in orders} - seen
        if not new_ids:
            # A server that ignores offset would otherwise be asked for the same page until max_pages.
            raise VoucherOrderPagingError(
                f"the voucher order page at offset {offset} repeats orders already listed; paging does not advance"
            )
        for order in orders:
            if order["id"] not in seen:
                seen.add(order["id"])
                yield order
        # Advance by what arrived, not by what was asked: a server that caps the page size loses nothing.
        offset += len(orders)
        if (total is not None and offset >= total) or (total is None and len(orders) < page_size):
            return
    raise VoucherOrderPagingError(
        f"stopped after {max_pages} pages ({offset} voucher orders) before the end of the list"
        + (f" of {total}" if total is not None else "")
        + "; narrow the filters or raise max_pages"
    )


def _fetch_page(client: DigiCertClient, params: dict) -> tuple[list[dict], int | None]:
    response = client.get(ORDERS_PATH, params=params)
    status = response.status_code
    body = client.read_body(response, None)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: a hostile answer nested deeper than the parser's stack.
        raise DigiCertAPIError(
            f"the answer to the voucher order list is not JSON ({len(body)} bytes)", status=status
        ) from None
    orders = document.get("voucher_orders") if isinstance(document, dict) else None
    if not isinstance(orders, list):
        found = ", ".join(sorted(map(str, document))[:5]) if isinstance(document, dict) else type(document).__name__
        raise DigiCertAPIError(
            f"the answer has no 'voucher_orders' list (found: {client.redact(found) or 'an empty object'})",
            status=status,
        )
    offset = params["offset"]
    for index, record in enumerate(orders):
        try:
            normalize_voucher_order(record)
        except ValueError as exc:  # RecordError, or int()'s own limit on very long digit strings
            raise DigiCertAPIError(
                f"voucher order record #{offset + index + 1}: {client.redact(str(exc))}", status=status
            ) from None
    page = document.get("page")
    total = page.get("total") if isinstance(page, dict) else None
    try:
        total = _to_integer("page.total", total) if total is not None else None
    except ValueError:
        total = None
    return orders, total


def _tell(warn: Callable[[str], None] | None, client: DigiCertClient, message: str) -> None:
    client.log(message)
    if warn is not None:
        warn(message)


def matching_voucher_order_ids(
    client: DigiCertClient,
    filters: Mapping[str, object] | None = None,
    sort: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
    max_pages: int = DEFAULT_MAX_PAGES,
    warn: Callable[[str], None] | None = None,
) -> list[int]:
    """Ids of the voucher orders matching ``filters``, in listing order: input for ``fetch_codes_of_orders``."""
    return [order["id"] for order in iter_voucher_orders(client, filters, sort, page_size, max_pages, warn)]


def attach_codes(client: DigiCertClient, orders: list[dict]) -> list[dict]:
    """Set ``codes`` on each order to its normalized codes, fetched concurrently by the shared client."""
    order_ids = [order["id"] for order in orders]
    for order, codes in zip(orders, client.fetch_codes_of_orders(order_ids), strict=True):
        order["codes"] = codes
    return orders
