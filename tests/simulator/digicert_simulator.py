"""A loopback-only HTTP simulator of DigiCert CertCentral's voucher API, for tests, the demo and benchmarks.

Standard library only. Run ``python tests/simulator/digicert_simulator.py --help`` for the options; see
``tests/simulator/README.md`` for a walk-through and ``tests/simulator/control.py`` for a Python helper.

What is DigiCert's and what is ours
===================================
Taken from DigiCert's page "List codes for voucher order" (samples reproduced exactly):

* ``GET /services/v2/voucher/{voucher_order_id}/download`` answers ``{"codes": [...]}`` or, when the ``Accept``
  header contains ``text/csv``, a CSV of the 21 code fields in documented order.
* Code records of orders 25252 and 25256 are the page's samples, with the page's type drift kept
  (``certificate_order_id`` and ``server_licenses`` are JSON strings, ``no_of_wildcards`` a number, blank dates a
  single space ``" "``).
* Error bodies ``{"errors": [{"code": ..., "message": ...}]}``, the 403 invalid-key and 429 rate-limit texts, and
  the per-key rate limits (100 requests per 5 s, 1000 per 3 min, rolling).

The simulator's own assumptions (DigiCert documents them loosely or not at all):

* Voucher order records (``GET /voucher`` and ``GET /voucher/{id}``) have the invented shape
  ``id, name, status, product_name, product_name_id, products, created_date, expiration_date, codes_count,
  codes_used_count, codes_status``. ``product_name``/``product_name_id`` are those of the order's first code;
  ``products`` lists every product of the order. ``codes_status`` is computed from the codes: ``none`` (no
  codes), ``unused`` (no code used), ``used`` (every code used), ``partial`` (some used).
  ``expiration_date`` is the latest ``voucher_validity_end_date`` of the codes unless set explicitly.
* ``GET /voucher`` query: ``limit`` (1..1000, default 1000; anything else is a 400 ``invalid_param|limit``
  rather than a silent clamp, so client bugs show), ``offset`` (>= 0), ``sort`` (a field of the order record
  among id, name, status, product_name, product_name_id, created_date, expiration_date, codes_count,
  codes_used_count, codes_status; ``-`` prefix for descending; default ``-created_date``; ties broken by id in
  the same direction, so pages are stable). Filters: ``filters[status]`` (completed, canceled),
  ``filters[codes_status]`` (none, unused, partial, used), ``filters[product_name_id]`` (matches if any product
  of the order has it), ``filters[name]`` (case-insensitive substring), ``filters[created_date]`` and
  ``filters[expiration_date]`` (``YYYY-MM-DD`` for one day or ``YYYY-MM-DD...YYYY-MM-DD`` for an inclusive
  range, compared with the date part of the field). An invalid value or an unknown ``filters[...]`` key is a 400
  ``invalid_filter|<name>``; several problems in one request give several errors in one body.
* ``GET /voucher`` and ``GET /voucher/{id}`` always answer JSON; only ``/download`` speaks CSV.
* CSV: header row then one row per code, each line ended by ``"\\n"`` (the page shows no ``\\r``), the last one
  too; UTF-8 without a byte-order mark. A cell is quoted when it contains a space (DigiCert's style), a comma, a
  double quote, CR or LF (RFC 4180, quotes doubled); other cells are bare. ``None`` is an empty cell, numbers are
  digits, lists and objects (only in injected records) are their compact JSON.
* JSON is sent compact, UTF-8, non-ASCII characters unescaped. Content types are exactly ``application/json``,
  ``text/csv`` and ``text/html``.
* Order of checks for an API request: method (405), queued fault, API key (403), rate limit (429, only with
  ``--enforce-rate-limit``), route (404). So a fault fires whatever the key, like a CDN in front of the API would,
  and a rate-limited request is never counted against the window (a client that backs off gets through again
  once the window rolls on).
* A numeric but unknown order id is a 404 ``not_found``; a non-numeric id or any other path a 404
  ``not_found|route``.

Control endpoints (no key, not rate limited, not counted or logged): ``GET /__simulator/stats``,
``POST /__simulator/reset``, ``GET|POST /__simulator/faults``, ``POST /__simulator/orders``. See README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_API_KEY = "sim-key-0123456789abcdef"
DEFAULT_LIFETIME = 600.0
API_PREFIX = "/services/v2"
CONTROL_PREFIX = "/__simulator"
BLANK = " "
MAX_LIMIT = 1000
MAX_BODY = 64 * 1024 * 1024
MAX_HUGE_MB = 1024
MAX_LARGE_ORDER = 999_999
RATE_WINDOWS = ((5.0, 100), (180.0, 1000))

CODE_FIELDS = (
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

# DigiCert's product identifiers (glossary); the voucher samples only show display names.
PRODUCT_IDS = {
    "Basic OV": "ssl_basic",
    "Basic EV": "ssl_ev_basic",
    "Standard SSL": "ssl_plus",
    "Secure Site SSL": "ssl_securesite",
    "Secure Site Pro SSL": "ssl_securesite_pro",
    "Secure Site Pro EV SSL": "ssl_ev_securesite_pro",
}

ORDER_SORT_FIELDS = (
    "id",
    "name",
    "status",
    "product_name",
    "product_name_id",
    "created_date",
    "expiration_date",
    "codes_count",
    "codes_used_count",
    "codes_status",
)
DEFAULT_SORT = "-created_date"
ORDER_STATUSES = ("completed", "canceled")
CODES_STATUSES = ("none", "unused", "partial", "used")
KNOWN_FILTERS = ("status", "codes_status", "product_name_id", "name", "created_date", "expiration_date")

ERR_INVALID_KEY = ("access_denied|access_denied_invalid_key", "Access denied due to access_denied_invalid_key.")
ERR_MISSING_PERMISSION = ("access_denied|missing_permission", "Access denied due to missing_permission.")
ERR_NOT_FOUND = ("not_found", "The requested resource was not found.")
ERR_ROUTE = ("not_found|route", "The requested route was not found.")
ERR_RATE = ("request_limit_exceeded", "Service unavailable, please limit request volume")
ERR_METHOD = ("method_not_allowed", "The HTTP method is not allowed for this resource.")
ERR_MULTI = (
    ("invalid_filter|codes_status", "Invalid value for filter codes_status."),
    ("invalid_param|limit", "Invalid value for limit: must be an integer between 1 and 1000."),
)


# --------------------------------------------------------------------------------------------------------------
# Data set
# --------------------------------------------------------------------------------------------------------------


def make_code(
    code_id,
    value,
    product_name,
    status,
    created_date,
    voucher_order_id,
    voucher_validity_end_date,
    *,
    no_of_fqdns=5,
    no_of_wildcards=0,
    validity_years=3,
    validity_days=0,
    cert_request_date=BLANK,
    cert_validity_start_date=BLANK,
    cert_validity_end_date=BLANK,
    cert_organization=BLANK,
    cert_common_name=BLANK,
    certificate_order_id=BLANK,
    order_valid_from=BLANK,
    order_valid_till=BLANK,
    server_licenses="1",
    shipping_method="N/A",
):
    """One code record, keys in documented order, with DigiCert's sample types as defaults."""
    return {
        "id": code_id,
        "value": value,
        "product_name": product_name,
        "no_of_fqdns": no_of_fqdns,
        "no_of_wildcards": no_of_wildcards,
        "shipping_method": shipping_method,
        "validity_years": validity_years,
        "validity_days": validity_days,
        "status": status,
        "created_date": created_date,
        "voucher_order_id": voucher_order_id,
        "cert_request_date": cert_request_date,
        "cert_validity_start_date": cert_validity_start_date,
        "cert_validity_end_date": cert_validity_end_date,
        "cert_organization": cert_organization,
        "cert_common_name": cert_common_name,
        "certificate_order_id": certificate_order_id,
        "voucher_validity_end_date": voucher_validity_end_date,
        "order_valid_from": order_valid_from,
        "order_valid_till": order_valid_till,
        "server_licenses": server_licenses,
    }


def builtin_orders():
    """The fixed data set: ``{order_id: (order_meta, codes)}``."""
    orders = {}

    # DigiCert's JSON sample, exactly. The page's CSV sample spells this code ZVB3EWIHDH3U63AOZU5QZ4W4TUTRPPCS;
    # the two samples disagree (a documentation slip), and the JSON value is served in both formats so that one
    # code has one value whatever the client asks for.
    orders[25252] = (
        {"name": "Example Inc. Basic OV vouchers", "status": "completed", "created_date": "2022-03-03 13:31:03"},
        [
            make_code(
                49170,
                "ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS",
                "Basic OV",
                "used",
                "2022-03-03 13:31:03",
                25252,
                "2023-03-03",
                cert_request_date="2022-03-03 13:41:41",
                cert_organization="Example Inc.",
                cert_common_name="example.com",
                certificate_order_id="204928159",
            )
        ],
    )

    # DigiCert's CSV sample rows, with the JSON sample's types.
    orders[25256] = (
        {"name": "Example mixed vouchers", "status": "completed", "created_date": "2022-03-03 14:43:28"},
        [
            make_code(
                49178,
                "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM",
                "Basic OV",
                "used",
                "2022-03-03 14:43:28",
                25256,
                "2023-03-03",
                cert_request_date="2022-03-04 10:48:47",
                cert_organization="Example Inc.",
                cert_common_name="example.com",
                certificate_order_id="204928160",
            ),
            make_code(
                49179,
                "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5",
                "Secure Site Pro EV SSL",
                "used",
                "2022-03-03 14:43:28",
                25256,
                "2023-03-03",
                no_of_fqdns=2,
                cert_request_date="2022-03-04 10:49:38",
                cert_organization="Example Corp.",
                cert_common_name="example.com",
                certificate_order_id="204928161",
            ),
        ],
    )

    # Unused codes to hand out. Validity ends far enough ahead that "is it expired?" logic keeps them usable.
    created, ends = "2026-06-02 09:14:27", "2029-06-02"
    unused = [
        ("K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G", "Basic OV", 5, 1, 0),
        ("P3VN6WQ2ZK7HTM4RXB5CJD2LFY6GSA3E", "Basic OV", 5, 1, 0),
        ("M2XC7RB4QV6ZNK3TWH5PJG2DLA7FYS6E", "Basic OV", 3, 0, 397),
        ("T6BW3NZ7QH2KXV5RMC4PJA6DLG3FYS2E", "Basic OV", 5, 2, 0),
        ("Z4RK6TM2XB7QVN3WHC5PJD6LGA2FYS7E", "Secure Site Pro EV SSL", 2, 1, 0),
        ("W5NQ3ZB6XK2RTV7MHC4PJD3LGA6FYS5E", "Secure Site Pro EV SSL", 2, 1, 0),
    ]
    codes = []
    for index, (value, product, fqdns, years, days) in enumerate(unused):
        codes.append(
            make_code(
                49250 + index,
                value,
                product,
                "active",
                created,
                25260,
                ends,
                no_of_fqdns=fqdns,
                validity_years=years,
                validity_days=days,
            )
        )
    # An organization-free record: "" instead of DigiCert's " ", which its samples never show for an unset
    # organization; clients must treat both as blank.
    codes[-1]["cert_organization"] = ""
    orders[25260] = ({"name": "Web team vouchers", "status": "completed", "created_date": created}, codes)

    # Characters that break naive CSV writers and spreadsheets: non-ASCII, quotes, commas, leading = and -.
    created = "2026-07-15 11:02:09"
    orders[25261] = (
        {"name": "Shop vouchers (special characters)", "status": "completed", "created_date": created},
        [
            make_code(
                49260,
                "H4LQ7ZC2WN5XBK3RTV6MPJ2DGA4FYS3E",
                "Basic OV",
                "used",
                created,
                25261,
                ends,
                cert_request_date="2026-07-16 08:30:00",
                cert_validity_start_date="2026-07-16",
                cert_validity_end_date="2027-08-16",
                cert_organization='Müller & Søn, "Ærø"',
                cert_common_name="shop.example.com",
                certificate_order_id="204930001",
                order_valid_from="2026-07-16",
                order_valid_till="2029-07-16",
            ),
            make_code(
                49261,
                "R2JX6TB4QZ7NVK5WMC3HPL2DGA7FYS6E",
                "Basic OV",
                "used",
                created,
                25261,
                ends,
                cert_request_date="2026-07-17 14:05:51",
                cert_organization="=1+2",
                cert_common_name="-cmd.example.com",
                certificate_order_id="204930002",
            ),
            make_code(49262, "B7WN2XQ5ZK4RTH6VMC3PJD7LGA2FYS4E", "Basic OV", "active", created, 25261, ends),
            make_code(
                49263,
                "N3ZQ6XB2WK7RTM5VHC4PJD2LGA3FYS6E",
                "Secure Site Pro EV SSL",
                "active",
                created,
                25261,
                ends,
                no_of_fqdns=2,
            ),
        ],
    )

    # A canceled order without codes, so every status and codes_status value occurs in the list.
    orders[25270] = (
        {
            "name": "Canceled order",
            "status": "canceled",
            "created_date": "2023-01-10 08:00:00",
            "expiration_date": "2024-01-10",
            "product_name": "Basic OV",
        },
        [],
    )
    return orders


def large_order_codes(order_id, count):
    """COUNT deterministic codes for ORDER_ID: the same run gives the same bytes on every machine."""
    created = "2026-01-05 10:00:00"
    codes = []
    for index in range(1, count + 1):
        digest = hashlib.sha256(f"{order_id}:{index}".encode("ascii")).digest()
        value = base64.b32encode(digest[:20]).decode("ascii")
        product = "Secure Site Pro EV SSL" if index % 4 == 0 else "Basic OV"
        extra = {"no_of_fqdns": 2} if index % 4 == 0 else {}
        if index % 3 == 0:
            extra.update(
                cert_request_date="2026-02-01 12:00:00",
                cert_organization="Example Inc.",
                cert_common_name=f"host{index}.example.com",
                certificate_order_id=str(300_000_000 + index),
            )
        status = "used" if index % 3 == 0 else "active"
        codes.append(
            make_code(order_id * 1_000_000 + index, value, product, status, created, order_id, "2029-01-05", **extra)
        )
    return {"name": f"Large order {order_id} ({count} codes)", "status": "completed", "created_date": created}, codes


# --------------------------------------------------------------------------------------------------------------
# Serialization
# --------------------------------------------------------------------------------------------------------------


def dump_json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def errors_body(*errors):
    return dump_json({"errors": [{"code": code, "message": message} for code, message in errors]})


def csv_cell(value):
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if any(ch in text for ch in ' ,"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(record):
    if isinstance(record, dict):
        cells = [csv_cell(record.get(field)) for field in CODE_FIELDS]
    else:
        cells = [csv_cell(record)]
    return ",".join(cells) + "\n"


CSV_HEADER = ",".join(CODE_FIELDS) + "\n"


def codes_csv(codes):
    return (CSV_HEADER + "".join(csv_row(code) for code in codes)).encode("utf-8")


def html_page(title, text):
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n<p>{text}</p>\n"
        "<hr><p>Reference #18.7f3c1d2e.1733325000.5a9b2c (simulated edge server)</p>\n</body></html>\n"
    ).encode()


class Order:
    """An order's metadata and codes; immutable once built, so threads can share it without locks."""

    def __init__(self, order_id, meta, codes):
        self.order_id = order_id
        self.codes = list(codes)
        dicts = [code for code in self.codes if isinstance(code, dict)]
        used = sum(1 for code in dicts if code.get("status") == "used")
        if not self.codes:
            codes_status = "none"
        elif used == 0:
            codes_status = "unused"
        elif used == len(self.codes):
            codes_status = "used"
        else:
            codes_status = "partial"
        products = []
        for code in dicts:
            name = code.get("product_name")
            if isinstance(name, str) and name not in products:
                products.append(name)
        if not products and meta.get("product_name"):
            products.append(meta["product_name"])
        ends = [code.get("voucher_validity_end_date") for code in dicts]
        ends = [end for end in ends if isinstance(end, str) and end.strip()]
        first = products[0] if products else None
        self.record = {
            "id": order_id,
            "name": meta.get("name", f"Voucher order {order_id}"),
            "status": meta.get("status", "completed"),
            "product_name": meta.get("product_name", first),
            "product_name_id": meta.get("product_name_id", product_id(first)),
            "products": [{"name_id": product_id(name), "name": name} for name in products],
            "created_date": meta.get("created_date", "2026-01-01 00:00:00"),
            "expiration_date": meta.get("expiration_date", max(ends) if ends else BLANK),
            "codes_count": len(self.codes),
            "codes_used_count": used,
            "codes_status": codes_status,
        }
        self._json = None
        self._csv = None

    def download_json(self):
        if self._json is None:
            self._json = dump_json({"codes": self.codes})
        return self._json

    def download_csv(self):
        if self._csv is None:
            self._csv = codes_csv(self.codes)
        return self._csv

    def info_json(self):
        # Spliced from the cached download body so that a large order's info costs no new serialization.
        codes_array = self.download_json()[len(b'{"codes":') : -1]
        return dump_json(self.record)[:-1] + b',"codes":' + codes_array + b"}"


def product_id(name):
    if name is None:
        return None
    return PRODUCT_IDS.get(name, re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_"))


# --------------------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------------------

SIMPLE_FAULTS = (
    "reset",
    "html",
    "empty",
    "truncated",
    "no_codes",
    "codes_not_list",
    "record_not_object",
    "bad_integer",
    "multi_error",
    "status:403:missing_permission",
)
FAULT_PATTERNS = (
    re.compile(r"status:([45][0-9]{2})"),
    re.compile(r"status:429:retry-after=([0-9]{1,6})"),
    re.compile(r"delay:([0-9]{1,4}(?:\.[0-9]+)?)"),
    re.compile(r"huge:([0-9]{1,4}(?:\.[0-9]+)?)"),
)


def validate_fault(item):
    """Return a normalized fault dict or raise TypeError/ValueError with a message for the 400 answer."""
    if not isinstance(item, dict):
        raise TypeError("each fault must be an object")
    kind = item.get("kind")
    if not isinstance(kind, str) or not (
        kind in SIMPLE_FAULTS or any(pattern.fullmatch(kind) for pattern in FAULT_PATTERNS)
    ):
        raise ValueError(f"unknown fault kind: {kind!r}")
    if kind.startswith("huge:") and float(kind[5:]) > MAX_HUGE_MB:
        raise ValueError(f"huge faults are limited to {MAX_HUGE_MB} MB")
    order = item.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ValueError("order must be an integer or null")
    times = item.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise ValueError("times must be an integer >= 0 (0 = forever)")
    return {"order": order, "kind": kind, "times": times, "forever": times == 0}


# --------------------------------------------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------------------------------------------


class RateLimiter:
    """Rolling windows per API key; only admitted requests enter the windows."""

    def __init__(self, windows=RATE_WINDOWS):
        self.windows = windows
        self.lock = threading.Lock()
        self.seen = {}

    def admit(self, key):
        now = time.monotonic()
        with self.lock:
            stamps = self.seen.setdefault(key, [deque() for window in self.windows])
            for (seconds, limit), window in zip(self.windows, stamps, strict=True):
                while window and now - window[0] >= seconds:
                    window.popleft()
                if len(window) >= limit:
                    return False
            for window in stamps:
                window.append(now)
            return True

    def clear(self):
        with self.lock:
            self.seen.clear()


class SimulatorState:
    def __init__(self, api_key, orders, latency_ms=0, enforce_rate_limit=False, request_log=None):
        self.api_key = api_key.encode("utf-8")
        self.latency = max(0, latency_ms) / 1000.0
        self.enforce_rate_limit = enforce_rate_limit
        self.rate = RateLimiter()
        self.lock = threading.Lock()
        self.initial_orders = dict(orders)
        self.orders = dict(orders)
        self.faults = []
        self.log_lock = threading.Lock()
        self.request_log = None
        if request_log:
            # Held open for the server's whole life and closed by main(), so no context manager.
            self.request_log = open(request_log, "a", encoding="utf-8")
        self._reset_counters()

    def _reset_counters(self):
        self.total = 0
        self.by_path = {}
        self.by_status = {}
        self.in_flight = 0
        self.max_concurrent = 0

    def begin(self, path):
        with self.lock:
            self.total += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)

    def end(self, entry):
        with self.lock:
            self.in_flight -= 1
            status = str(entry["status"])
            self.by_status[status] = self.by_status.get(status, 0) + 1
        if self.request_log is not None:
            line = json.dumps(entry, ensure_ascii=False) + "\n"
            with self.log_lock:
                self.request_log.write(line)
                self.request_log.flush()

    def stats(self):
        with self.lock:
            return {
                "requests": self.total,
                "by_path": dict(self.by_path),
                "by_status": dict(self.by_status),
                "max_concurrent": self.max_concurrent,
                "in_flight": self.in_flight,
                "faults_pending": len(self.faults),
            }

    def reset(self, orders=False):
        with self.lock:
            in_flight = self.in_flight
            self._reset_counters()
            # Requests still running will call end(); keep them counted as in flight so it never goes negative.
            self.in_flight = in_flight
            self.faults = []
            if orders:
                self.orders = dict(self.initial_orders)
        self.rate.clear()

    def add_faults(self, faults):
        with self.lock:
            self.faults.extend(faults)
            return len(self.faults)

    def pending_faults(self):
        with self.lock:
            return [{"order": f["order"], "kind": f["kind"], "times": f["times"]} for f in self.faults]

    def take_fault(self, order_id):
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault["order"] is None or fault["order"] == order_id:
                    if not fault["forever"]:
                        fault["times"] -= 1
                        if fault["times"] <= 0:
                            del self.faults[index]
                    return fault["kind"]
        return None

    def get_order(self, order_id):
        with self.lock:
            return self.orders.get(order_id)

    def all_orders(self):
        with self.lock:
            return list(self.orders.values())

    def set_order(self, order):
        with self.lock:
            self.orders[order.order_id] = order

    def key_ok(self, presented):
        if presented is None:
            return False
        return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), self.api_key)


# --------------------------------------------------------------------------------------------------------------
# Voucher order listing
# --------------------------------------------------------------------------------------------------------------

DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date_filter(text):
    """``YYYY-MM-DD`` or ``YYYY-MM-DD...YYYY-MM-DD`` -> inclusive (low, high), or None if malformed."""
    low, sep, high = text.partition("...")
    if not sep:
        high = low
    if not (DATE_RE.fullmatch(low) and DATE_RE.fullmatch(high)) or low > high:
        return None
    return low, high


def list_orders(orders, query):
    """Return (status, body) for ``GET /voucher``."""
    params = parse_qs(query, keep_blank_values=True)
    errors = []

    def single(name, default=None):
        values = params.get(name)
        return values[-1] if values else default

    limit_text, offset_text = single("limit", str(MAX_LIMIT)), single("offset", "0")
    limit = int(limit_text) if re.fullmatch(r"[0-9]{1,9}", limit_text) else -1
    offset = int(offset_text) if re.fullmatch(r"[0-9]{1,12}", offset_text) else -1
    if not 1 <= limit <= MAX_LIMIT:
        errors.append(("invalid_param|limit", "Invalid value for limit: must be an integer between 1 and 1000."))
    if offset < 0:
        errors.append(("invalid_param|offset", "Invalid value for offset: must be an integer >= 0."))

    sort = single("sort", DEFAULT_SORT) or DEFAULT_SORT
    descending = sort.startswith("-")
    sort_field = sort[1:] if descending else sort
    if sort_field not in ORDER_SORT_FIELDS:
        errors.append(("invalid_param|sort", f"Invalid sort field: {sort_field}."))

    records = [order.record for order in orders]
    for key, values in params.items():
        match = re.fullmatch(r"filters\[([^\]]*)\]", key)
        if not match:
            continue
        name, value = match.group(1), values[-1]
        if name not in KNOWN_FILTERS:
            errors.append((f"invalid_filter|{name}", f"Unknown filter {name}."))
        elif name == "status":
            if value not in ORDER_STATUSES:
                errors.append(("invalid_filter|status", "Invalid value for filter status."))
            records = [r for r in records if r["status"] == value]
        elif name == "codes_status":
            if value not in CODES_STATUSES:
                errors.append(("invalid_filter|codes_status", "Invalid value for filter codes_status."))
            records = [r for r in records if r["codes_status"] == value]
        elif name == "product_name_id":
            records = [r for r in records if any(p["name_id"] == value for p in r["products"])]
        elif name == "name":
            needle = value.casefold()
            records = [r for r in records if needle in str(r["name"]).casefold()]
        else:
            bounds = parse_date_filter(value)
            if bounds is None:
                errors.append(
                    (
                        f"invalid_filter|{name}",
                        f"Invalid value for filter {name}: use YYYY-MM-DD or YYYY-MM-DD...YYYY-MM-DD.",
                    )
                )
                continue
            records = [r for r in records if bounds[0] <= str(r[name])[:10] <= bounds[1]]
    if errors:
        return 400, errors_body(*errors)

    def sort_key(record):
        value = record.get(sort_field)
        # None sorts first; mixed types (injected orders) compare by type name first instead of raising.
        return (value is not None, type(value).__name__, value if value is not None else 0, record["id"])

    records.sort(key=sort_key, reverse=descending)
    page = records[offset : offset + limit]
    return 200, dump_json({"voucher_orders": page, "page": {"total": len(records), "limit": limit, "offset": offset}})


# --------------------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------------------

ROUTE_LIST = re.compile(API_PREFIX + r"/voucher")
ROUTE_DOWNLOAD = re.compile(API_PREFIX + r"/voucher/([^/]+)/download")
ROUTE_INFO = re.compile(API_PREFIX + r"/voucher/([^/]+)")
NUMERIC_ID = re.compile(r"[0-9]{1,18}")


def route_of(path):
    """Return (kind, order_id): kind is list, download, info or None (unknown route)."""
    if ROUTE_LIST.fullmatch(path):
        return "list", None
    for kind, pattern in (("download", ROUTE_DOWNLOAD), ("info", ROUTE_INFO)):
        match = pattern.fullmatch(path)
        if match:
            if NUMERIC_ID.fullmatch(match.group(1)):
                return kind, int(match.group(1))
            return None, None
    return None, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "digicert-simulator/1.0"
    sys_version = ""
    # Idle keep-alive connections are closed after this many seconds so their threads end.
    timeout = 60
    sent_status = 0

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the client's delayed ACK add
        # about 40 ms to every keep-alive answer, which would make the benchmark measure the simulator.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self):
        return self.server_version

    @property
    def state(self) -> SimulatorState:
        return self.server.state

    def log_message(self, format, *args):
        if getattr(self.server, "verbose", False):
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # Every method goes through one entry so that unusual verbs get a 405 with a JSON body, not http.server's 501.
    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_OPTIONS(self):
        self.handle_any("OPTIONS")

    # ---- plumbing

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Not supported; closing afterwards keeps the connection from being misframed.
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def send_response(self, code, message=None):
        self.sent_status = code
        super().send_response(code, message)

    def send(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        return status

    def send_errors(self, status, *errors, headers=()):
        return self.send(status, errors_body(*errors), headers=headers)

    def handle_any(self, method):
        split = urlsplit(self.path)
        path = split.path
        body = self.read_body()
        try:
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
                self.control(method, path, body)
            else:
                self.api(method, path, split.query)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    # ---- API

    def api(self, method, path, query):
        state = self.state
        state.begin(path)
        entry = {
            "path": path,
            "method": method,
            "accept": self.headers.get("Accept"),
            "status": 0,
            "user_agent": self.headers.get("User-Agent"),
            "has_key": self.headers.get("X-DC-DEVKEY") is not None,
        }
        self.sent_status = 0
        try:
            if state.latency:
                time.sleep(state.latency)
            self.api_answer(method, path, query)
        finally:
            # The status line that went out, even if the client hung up before the body did: 0 = none at all.
            entry["status"] = self.sent_status
            state.end(entry)

    def api_answer(self, method, path, query):
        if method != "GET":
            return self.send_errors(405, ERR_METHOD, headers=(("Allow", "GET"),))
        kind, order_id = route_of(path)
        fault = self.state.take_fault(order_id)
        if fault is not None:
            status = self.apply_fault(fault, kind, order_id, query)
            if status is not None:
                return status
        status, body, content_type, headers = self.normal_answer(kind, order_id, query)
        return self.send(status, body, content_type, headers)

    def wants_csv(self):
        return "text/csv" in self.headers.get("Accept", "").lower()

    def normal_answer(self, kind, order_id, query):
        state = self.state
        if not state.key_ok(self.headers.get("X-DC-DEVKEY")):
            return 403, errors_body(ERR_INVALID_KEY), "application/json", ()
        if state.enforce_rate_limit and not state.rate.admit(self.headers.get("X-DC-DEVKEY")):
            return 429, errors_body(ERR_RATE), "application/json", ()
        if kind is None:
            return 404, errors_body(ERR_ROUTE), "application/json", ()
        if kind == "list":
            status, body = list_orders(state.all_orders(), query)
            return status, body, "application/json", ()
        order = state.get_order(order_id)
        if order is None:
            return 404, errors_body(ERR_NOT_FOUND), "application/json", ()
        if kind == "info":
            return 200, order.info_json(), "application/json", ()
        if self.wants_csv():
            return 200, order.download_csv(), "text/csv", ()
        return 200, order.download_json(), "application/json", ()

    def apply_fault(self, fault, kind, order_id, query):
        """Answer according to FAULT and return the status, or None to go on with the normal answer."""
        if fault == "reset":
            self.close_connection = True
            try:
                # Linger 0 makes close() send a TCP RST: the client sees a reset, not a polite end of stream.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.connection.close()
            return 0
        if fault.startswith("delay:"):
            time.sleep(float(fault[6:]))
            return None
        if fault == "status:403:missing_permission":
            return self.send_errors(403, ERR_MISSING_PERMISSION)
        match = re.fullmatch(r"status:429:retry-after=([0-9]+)", fault)
        if match:
            return self.send_errors(429, ERR_RATE, headers=(("Retry-After", match.group(1)),))
        match = re.fullmatch(r"status:([0-9]{3})", fault)
        if match:
            return self.fault_status(int(match.group(1)))
        if fault.startswith("huge:"):
            return self.send_huge(float(fault[5:]))
        if fault == "html":
            page = html_page("Maintenance", "CertCentral is undergoing scheduled maintenance. Please try again later.")
            return self.send(200, page, "text/html")
        if fault == "empty":
            return self.send(200, b"")
        if fault == "truncated":
            body, content_type = self.normal_answer(kind, order_id, query)[1:3]
            return self.send(200, body[: len(body) // 2], content_type)
        if fault == "no_codes":
            return self.send(200, b'{"result":[]}')
        if fault == "codes_not_list":
            return self.send(200, b'{"codes":{"a":1}}')
        if fault == "record_not_object":
            return self.send(200, b'{"codes":["x"]}')
        if fault == "bad_integer":
            order = self.state.get_order(order_id) if order_id is not None else None
            base = next((c for c in (order.codes if order else []) if isinstance(c, dict)), None)
            record = dict(base or self.state.initial_orders[25252].codes[0])
            record["id"] = "abc"
            if self.wants_csv():
                return self.send(200, codes_csv([record]), "text/csv")
            return self.send(200, dump_json({"codes": [record]}))
        if fault == "multi_error":
            return self.send_errors(400, *ERR_MULTI)
        raise AssertionError(f"unhandled fault {fault}")

    def fault_status(self, status):
        if status == 429:
            return self.send_errors(429, ERR_RATE)
        if status >= 500:
            reason = self.responses.get(status, ("Server Error",))[0]
            page = html_page(
                f"{status} {reason}", "The server encountered a temporary error and could not complete your request."
            )
            return self.send(status, page, "text/html")
        if status == 403:
            return self.send_errors(403, ERR_INVALID_KEY)
        if status == 404:
            return self.send_errors(404, ERR_NOT_FOUND)
        return self.send_errors(status, ("simulated_fault", f"Simulated HTTP {status} answer."))

    def send_huge(self, megabytes):
        """A valid ``{"codes": [...]}`` (or CSV) of about MEGABYTES MiB, streamed so memory stays flat."""
        target = max(1, int(megabytes * 1024 * 1024))
        template = dict(self.state.initial_orders[25252].codes[0])
        csv_mode = self.wants_csv()
        # Fixed-width ids keep every record the same length, so Content-Length is known before streaming.
        first_id = 100_000_000
        if csv_mode:
            head, sep, tail = CSV_HEADER.encode(), b"", b""
        else:
            head, sep, tail = b'{"codes":[', b",", b"]}"

        def record_of(index):
            record = dict(template, id=first_id + index)
            return csv_row(record).encode("utf-8") if csv_mode else dump_json(record)

        size = len(record_of(0))
        count = max(1, (target - len(head) - len(tail)) // (size + len(sep)))
        length = len(head) + count * size + (count - 1) * len(sep) + len(tail)
        content_type = "text/csv" if csv_mode else "application/json"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(head)
        batch = 512
        for start in range(0, count, batch):
            chunk = [record_of(i) for i in range(start, min(count, start + batch))]
            data = sep.join(chunk)
            if start:
                data = sep + data
            self.wfile.write(data)
        self.wfile.write(tail)
        return 200

    # ---- control

    def control(self, method, path, body):
        state = self.state
        routes = {
            "/__simulator/stats": ("GET",),
            "/__simulator/reset": ("POST",),
            "/__simulator/faults": ("GET", "POST"),
            "/__simulator/orders": ("POST",),
        }
        if path not in routes:
            return self.send_errors(404, ERR_ROUTE)
        if method not in routes[path]:
            return self.send_errors(405, ERR_METHOD, headers=(("Allow", ", ".join(routes[path])),))
        if method == "GET" and path.endswith("/stats"):
            return self.send(200, dump_json(state.stats()))
        if method == "GET":
            return self.send(200, dump_json({"faults": state.pending_faults()}))
        if body is None:
            return self.send_errors(400, ("invalid_request", "Request body could not be read."))
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            return self.send_errors(400, ("invalid_json", "Request body is not valid JSON."))
        if not isinstance(payload, dict):
            return self.send_errors(400, ("invalid_json", "Request body must be a JSON object."))
        if path.endswith("/reset"):
            state.reset(orders=bool(payload.get("orders")))
            return self.send(200, dump_json({"reset": True, "orders": bool(payload.get("orders"))}))
        if path.endswith("/faults"):
            items = payload.get("faults")
            if not isinstance(items, list):
                return self.send_errors(400, ("invalid_param|faults", "faults must be a list."))
            try:
                faults = [validate_fault(item) for item in items]
            except (TypeError, ValueError) as exc:
                return self.send_errors(400, ("invalid_param|faults", str(exc)))
            pending = state.add_faults(faults)
            return self.send(200, dump_json({"queued": len(faults), "pending": pending}))
        order_id, codes = payload.get("order_id"), payload.get("codes")
        meta = payload.get("order") or {}
        if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id < 0:
            return self.send_errors(400, ("invalid_param|order_id", "order_id must be a non-negative integer."))
        if not isinstance(codes, list) or not isinstance(meta, dict):
            return self.send_errors(400, ("invalid_param|codes", "codes must be a list and order an object."))
        state.set_order(Order(order_id, meta, codes))
        return self.send(200, dump_json({"order_id": order_id, "codes": len(codes)}))


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Several test processes may start simulators at once; a larger backlog avoids refused connects under load.
    request_queue_size = 128
    verbose = False

    def handle_error(self, request, client_address):
        # Clients that hang up or fail a TLS handshake are normal in fault tests: one line, and only when asked.
        if self.verbose:
            sys.stderr.write(f"error serving {client_address}: {sys.exc_info()[1]!r}\n")


class SimulatorServer6(SimulatorServer):
    address_family = socket.AF_INET6


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def loopback_host(host):
    """Return the address to bind for HOST, or raise ValueError unless it is loopback."""
    if host == "localhost":
        # Bound by address, not by name, so that a resolver mapping "localhost" elsewhere cannot widen it.
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"refusing to bind {host!r}: only loopback addresses (127.0.0.0/8, ::1, localhost)") from None
    if not address.is_loopback:
        raise ValueError(f"refusing to bind {host!r}: only loopback addresses (127.0.0.0/8, ::1, localhost)")
    return str(address)


def parse_large_order(text):
    match = re.fullmatch(r"([0-9]{1,12}):([0-9]{1,7})", text)
    if not match or not 1 <= int(match.group(2)) <= MAX_LARGE_ORDER:
        raise argparse.ArgumentTypeError(f"expected ID:COUNT with 1 <= COUNT <= {MAX_LARGE_ORDER}, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_if_ours(path, expected):
    """Remove a pid/port file on exit, unless another simulator has since written its own value there."""
    try:
        with open(path, encoding="ascii") as handle:
            if handle.read().strip() == expected:
                os.unlink(path)
    except OSError:
        pass


def build_parser():
    parser = argparse.ArgumentParser(description="Loopback-only simulator of DigiCert's voucher API.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for a free one (default 0)")
    parser.add_argument("--port-file", help="write the bound port here once listening (atomically)")
    parser.add_argument("--pid-file", help="write the process id here once listening (atomically)")
    parser.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME, help="stop after so many seconds")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the accepted X-DC-DEVKEY value")
    parser.add_argument("--latency-ms", type=int, default=0, help="sleep before each API answer")
    parser.add_argument(
        "--large-order", type=parse_large_order, action="append", default=[], metavar="ID:COUNT",
        help="add an order of COUNT deterministic codes (repeatable)",
    )  # fmt: skip
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--enforce-rate-limit", action="store_true", help="answer 429 past DigiCert's limits")
    parser.add_argument("--request-log", help="append one JSON line per API request (never the key)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        host = loopback_host(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.lifetime <= 0:
        parser.error("--lifetime must be positive")
    if not args.api_key:
        parser.error("--api-key must not be empty")

    orders = {order_id: Order(order_id, meta, codes) for order_id, (meta, codes) in builtin_orders().items()}
    for order_id, count in args.large_order:
        meta, codes = large_order_codes(order_id, count)
        order = Order(order_id, meta, codes)
        order.download_json()
        order.download_csv()
        orders[order_id] = order

    state = SimulatorState(args.api_key, orders, args.latency_ms, args.enforce_rate_limit, args.request_log)
    server_class = SimulatorServer6 if ":" in host else SimulatorServer
    server = server_class((host, args.port), Handler)
    server.state = state
    server.verbose = args.verbose
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler thread on first read, so a stalled client cannot block accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    port = server.server_address[1]
    pid = str(os.getpid())

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.lifetime, stop)
    timer.daemon = True
    timer.start()

    # pid first: whoever waits for the port file can rely on the pid file being there too.
    if args.pid_file:
        write_atomically(args.pid_file, pid + "\n")
    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")
    shown = f"[{host}]" if ":" in host else host
    print(f"digicert simulator listening on {scheme}://{shown}:{port}{API_PREFIX} (pid {pid})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        timer.cancel()
        server.server_close()
        if args.port_file:
            remove_if_ours(args.port_file, str(port))
        if args.pid_file:
            remove_if_ours(args.pid_file, pid)
        if state.request_log is not None:
            state.request_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
