# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: the one DigiCert CertCentral API client every plugin uses.

Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import math
import os
import random
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

try:
    import requests
    from requests.adapters import HTTPAdapter

    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where requests is missing
    requests = None
    HTTPAdapter = object
    # A string: fail_json before ansible-core 2.19 cannot serialize an exception object.
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.certops.digicert.plugins.module_utils._records import (
    CODE_FIELDS,
    RecordError,
    codes_from_json,
    iter_codes_from_csv,
)

COLLECTION_VERSION = "0.1.0"
USER_AGENT = f"certops.digicert/{COLLECTION_VERSION} (Ansible collection)"
PLATFORM_URLS = {
    "us": "https://www.digicert.com/services/v2",
    "eu": "https://certcentral.digicert.eu/services/v2",
}
# A real order of 50,000 codes is about 35 MB of JSON; anything far beyond that is not an answer.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
# DigiCert's published limits per API key: 100 requests per 5 seconds, 1000 per 3 minutes.
RATE_LIMITS = ((100, 5.0), (1000, 180.0))
_REDACTED = "********"


class DigiCertAPIError(Exception):
    """Any failure talking to DigiCert, carrying what a person needs to act on it.

    ``status`` is the HTTP status (``None`` when no answer arrived), ``errors`` every
    ``{"code", "message"}`` pair DigiCert sent, ``voucher_order_id`` the order asked about.
    """

    def __init__(
        self,
        reason: str,
        status: int | None = None,
        errors: list[dict] | None = None,
        voucher_order_id: int | None = None,
        url: str | None = None,
    ) -> None:
        self.reason = reason
        self.status = status
        self.errors = errors or []
        self.voucher_order_id = voucher_order_id
        self.url = url
        super().__init__(self.message)

    @property
    def error_codes(self) -> list[str]:
        return [str(error.get("code")) for error in self.errors]

    @property
    def message(self) -> str:
        subject = f"voucher order {self.voucher_order_id}" if self.voucher_order_id is not None else "the DigiCert API"
        text = f"DigiCert request for {subject} failed"
        if self.status is not None:
            text += f" with HTTP {self.status}"
        text += f": {self.reason}"
        if self.errors:
            text += ". DigiCert said: " + "; ".join(f"{e.get('code')}: {e.get('message')}" for e in self.errors)
        return text

    def as_result(self) -> dict:
        """The fields a module adds to its failure result, for playbooks that branch on them."""
        return {
            "http_status": self.status,
            "error_codes": self.error_codes,
            "errors": self.errors,
            "voucher_order_id": self.voucher_order_id,
        }


@dataclass(frozen=True)
class ConnectionSettings:
    api_key: str
    api_url: str
    timeout: float = 30.0
    validate_certs: bool = True
    ca_path: str | None = None
    retries: int = 5
    max_retry_wait: float = 60.0
    max_workers: int = 8

    @classmethod
    def from_options(cls, get_option: Callable[[str], object]) -> ConnectionSettings:
        """Build settings from module params or plugin options; both use the same option names."""
        # Vaulted block scalars end in a newline and shell exports pick up spaces: neither is part of a key.
        api_key = str(get_option("api_key") or "").strip()
        if not api_key:
            raise ValueError("api_key is required: set the api_key option or the DIGICERT_API_KEY environment variable")
        if not all(" " <= char <= "~" for char in api_key):
            # The key itself is never quoted: the message must not become the leak.
            raise ValueError("api_key contains characters that cannot be sent in an HTTP header (not printable ASCII)")
        api_url = get_option("api_url") or PLATFORM_URLS[get_option("platform") or "us"]
        parts = urlsplit(api_url)
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ValueError(f"api_url has an invalid port: {api_url!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"api_url must be an http(s) URL such as {PLATFORM_URLS['us']}, not {api_url!r}")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("api_url must not contain credentials, a query or a fragment")
        timeout = float(get_option("timeout"))
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout}")
        retries = int(get_option("retries"))
        max_retry_wait = float(get_option("max_retry_wait"))
        if retries < 0 or not 0 <= max_retry_wait < math.inf:
            raise ValueError("retries and max_retry_wait must not be negative")
        max_workers = int(get_option("max_concurrent_requests"))
        if not 1 <= max_workers <= 32:
            raise ValueError(f"max_concurrent_requests must be between 1 and 32, not {max_workers}")
        ca_path = get_option("ca_path") or None
        if ca_path and not os.path.isfile(ca_path):
            raise ValueError(f"ca_path: {ca_path} is not a readable file of PEM CA certificates")
        return cls(
            api_key=api_key,
            api_url=api_url.rstrip("/"),
            timeout=timeout,
            validate_certs=bool(get_option("validate_certs")),
            ca_path=ca_path,
            retries=retries,
            max_retry_wait=max_retry_wait,
            max_workers=max_workers,
        )


class RateLimiter:
    """Paces requests under DigiCert's rolling windows; shared by the threads of one process.

    DigiCert counts a request when it arrives, which can be well after it was sent. So a request
    counts as "now" while it is in flight, and from the moment its answer came back afterwards:
    a window measured that way never holds fewer requests than DigiCert's own.
    """

    def __init__(self, limits=RATE_LIMITS, clock=time.monotonic, sleep=time.sleep) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        # One [time] cell per request; math.inf while in flight.
        self._requests: list[list[float]] = []
        self._lock = threading.Lock()

    def wait_turn(self) -> float:
        """Wait until one more request fits and count it as done at once; return the seconds waited."""
        cell, waited = self._acquire()
        self.done(cell)
        return waited

    def begin(self) -> list[float]:
        """Wait until one more request fits; return its cell, to pass to :meth:`done` once answered."""
        return self._acquire()[0]

    def _acquire(self) -> tuple[list[float], float]:
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                longest_window = max(window for _count, window in self._limits)
                self._requests = [cell for cell in self._requests if now - cell[0] < longest_window]
                times = sorted(min(cell[0], now) for cell in self._requests)
                delay = 0.0
                for count, window in self._limits:
                    recent = [t for t in times if now - t < window]
                    if len(recent) >= count:
                        delay = max(delay, recent[-count] + window - now)
                if delay <= 0:
                    cell = [math.inf]
                    self._requests.append(cell)
                    return cell, waited
            self._sleep(delay)
            waited += delay

    def done(self, cell: list[float]) -> None:
        with self._lock:
            cell[0] = self._clock()


class DigiCertClient:
    """A keep-alive session to one DigiCert API URL with one key.

    Every request is a GET: reads are safe to retry. Nothing in this client creates or changes
    anything at DigiCert, so no retry can ever spend money.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        log: Callable[[str], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests is None:  # pragma: no cover - callers check REQUESTS_IMPORT_ERROR first
            raise RuntimeError("the Python library requests is required")
        self.settings = settings
        self.max_response_bytes = max_response_bytes
        self._log_sink = log
        self._sleep = sleep
        self._rate_limiter = RateLimiter()
        self._api_host = urlsplit(settings.api_url).hostname
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(settings.max_workers, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": USER_AGENT, "X-DC-DEVKEY": settings.api_key})
        # Passed on every request: a session-level value loses to REQUESTS_CA_BUNDLE from the environment.
        self._verify = (settings.ca_path or True) if settings.validate_certs else False
        if not settings.validate_certs:
            # The user turned verification off on purpose; urllib3's warning would go straight to stderr.
            requests.packages.urllib3.disable_warnings(requests.packages.urllib3.exceptions.InsecureRequestWarning)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> DigiCertClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """Remove the API key from any text that might reach a person (a hostile page could echo it)."""
        key = self.settings.api_key
        return text.replace(key, _REDACTED) if key and key in text else text

    def log(self, message: str) -> None:
        """Send a line to the plugin's debug log (shown at -vvv), with the key redacted."""
        if self._log_sink is not None:
            self._log_sink(self.redact(message))

    def url_for(self, path: str) -> str:
        return f"{self.settings.api_url}/{path.lstrip('/')}"

    # -- transport ---------------------------------------------------------------------------

    def get(self, path: str, accept: str = "application/json", params=None, voucher_order_id=None):
        """GET ``path`` with retries of transient faults; return a streaming 2xx response."""
        url = self.url_for(path)
        if urlsplit(url).hostname != self._api_host:
            raise DigiCertAPIError("refusing to send the API key to another host", url=url)
        # DigiCert's own examples send Content-Type even on GET; some gateways expect it.
        headers = {"Accept": accept, "Content-Type": "application/json"}
        waits: list[float] = []
        attempt = 0
        while True:
            attempt += 1
            turn = self._rate_limiter.begin()
            started = time.monotonic()
            try:
                response = self.session.get(
                    url,
                    headers=headers,
                    params=params,
                    timeout=self.settings.timeout,
                    stream=True,
                    allow_redirects=False,
                    verify=self._verify,
                )
            except requests.exceptions.SSLError as exc:
                raise DigiCertAPIError(
                    f"TLS verification of {self._api_host} failed ({self._exception_text(exc)}); "
                    "set ca_path to a private CA bundle if a proxy re-signs traffic",
                    voucher_order_id=voucher_order_id,
                    url=url,
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                failure = self._transport_failure(exc, url, voucher_order_id)
                # A refused connection or an unknown host will not heal in seconds; resets and timeouts may.
                permanent = any(name in str(exc) for name in ("NewConnectionError", "NameResolutionError"))
                if not permanent and self._should_retry(attempt, waits, None, failure.reason):
                    continue
                raise failure from None
            except (requests.exceptions.RequestException, ValueError, OSError) as exc:
                # Anything else requests raises (a bad header, an unusable CA file) is not worth retrying.
                raise DigiCertAPIError(
                    f"the request could not be sent: {self._exception_text(exc)}",
                    voucher_order_id=voucher_order_id,
                    url=url,
                ) from None
            finally:
                self._rate_limiter.done(turn)
            elapsed = time.monotonic() - started
            self.log(f"GET {response.url} -> HTTP {response.status_code} in {elapsed:.3f}s (attempt {attempt})")
            if 200 <= response.status_code < 300:
                return response
            failure = self._http_failure(response, url, voucher_order_id)
            if response.status_code in RETRIED_STATUSES and self._should_retry(
                attempt, waits, response.headers.get("Retry-After"), failure.reason
            ):
                continue
            raise failure

    def _should_retry(self, attempt: int, waits: list[float], retry_after: str | None, reason: str) -> bool:
        """Decide on one more attempt, and sleep before it; ``waits`` holds this request's earlier waits.

        Only the waiting counts against max_retry_wait: time spent in requests is bounded by timeout.
        """
        if attempt > self.settings.retries:
            self.log(f"giving up after {attempt} attempts: {reason}")
            return False
        delay = _retry_after_seconds(retry_after)
        if delay is None:
            # Full jitter: spread retries of parallel workers instead of having them collide again.
            delay = random.uniform(0, min(30.0, 0.5 * 2 ** (attempt - 1)))  # noqa: S311 - not for security
        remaining = self.settings.max_retry_wait - sum(waits)
        if delay > remaining:
            self.log(f"not retrying: waiting {delay:.1f}s would pass max_retry_wait ({reason})")
            return False
        self.log(f"retry {attempt}/{self.settings.retries} in {delay:.2f}s after: {reason}")
        waits.append(delay)
        self._sleep(delay)
        return True

    def _exception_text(self, exc: BaseException) -> str:
        # requests wraps urllib3 wraps the socket error; the errno text is what a person can act on.
        text = str(exc)
        errno_text = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
        if errno_text:
            return self.redact(errno_text.group(1).strip())
        tls_text = re.search(r"\[SSL: [A-Z_]+\] ([^'\"()\]]+)", text)
        if tls_text:
            return self.redact(tls_text.group(1).strip())
        if "RemoteDisconnected" in text or "without response" in text:
            return "the server closed the connection without answering"
        if "ConnectionResetError" in text or "reset by peer" in text:
            return "the connection was reset"
        return self.redact(text[:200]) if text else exc.__class__.__name__

    def _transport_failure(self, exc: BaseException, url: str, voucher_order_id) -> DigiCertAPIError:
        if isinstance(exc, requests.exceptions.Timeout):
            reason = f"no answer from {self._api_host} within {self.settings.timeout:g}s (timeout)"
        else:
            reason = f"cannot reach {self._api_host}: {self._exception_text(exc)}"
        return DigiCertAPIError(reason, voucher_order_id=voucher_order_id, url=url)

    def _http_failure(self, response, url: str, voucher_order_id) -> DigiCertAPIError:
        status = response.status_code
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).hostname or "an unknown location"
            response.close()
            return DigiCertAPIError(
                f"the API answered with a redirect to {target}, which is not followed so the key stays with "
                "the API host; check api_url",
                status=status,
                voucher_order_id=voucher_order_id,
                url=url,
            )
        try:
            body = self.read_body(response, voucher_order_id, limit=64 * 1024)
        except DigiCertAPIError:
            body = b""
        errors = _error_list(body)
        reason = _STATUS_REASONS.get(status, "the API refused the request")
        if errors is None:
            content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
            snippet = _text_snippet(self.redact(body.decode("utf-8", errors="replace")))
            reason += f"; the body is not DigiCert's JSON error format ({content_type}, {len(body)} bytes"
            reason += f": {snippet!r})" if snippet else ")"
            errors = []
        errors = [{k: self.redact(str(v)) for k, v in error.items()} for error in errors]
        if status == 404 and any("route" in error.get("code", "") for error in errors):
            reason = "not found: the API has no such path; check api_url (it ends in /services/v2)"
        return DigiCertAPIError(reason, status=status, errors=errors, voucher_order_id=voucher_order_id, url=url)

    def read_body(self, response, voucher_order_id, limit: int | None = None) -> bytes:
        """The whole body of ``response``, refusing more than the size cap; the response is closed."""
        limit = self.max_response_bytes if limit is None else limit
        declared = response.headers.get("Content-Length")
        if limit == self.max_response_bytes and declared and declared.isdigit() and int(declared) > limit:
            response.close()
            raise self._too_large(response, voucher_order_id)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=256 * 1024):
                size += len(chunk)
                if size > limit:
                    if limit != self.max_response_bytes:
                        # An error page: its beginning is enough to explain it.
                        chunks.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise self._too_large(response, voucher_order_id)
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise self._broken_off(exc, response, voucher_order_id) from None
        finally:
            response.close()
        return b"".join(chunks)

    def _broken_off(self, exc: BaseException, response, voucher_order_id) -> DigiCertAPIError:
        return DigiCertAPIError(
            f"the answer broke off while reading it: {self._exception_text(exc)}",
            status=response.status_code,
            voucher_order_id=voucher_order_id,
        )

    def _too_large(self, response, voucher_order_id) -> DigiCertAPIError:
        return DigiCertAPIError(
            f"the answer is larger than the {_size_text(self.max_response_bytes)} cap for one response; "
            "no real voucher order is that large",
            status=response.status_code,
            voucher_order_id=voucher_order_id,
        )

    # -- voucher codes -------------------------------------------------------------------------

    def _codes_path(self, voucher_order_id: int) -> str:
        return f"voucher/{int(voucher_order_id)}/download"

    def fetch_codes(self, voucher_order_id: int) -> list[dict]:
        """All codes of one voucher order as normalized records, in DigiCert's order (JSON)."""
        response = self.get(self._codes_path(voucher_order_id), voucher_order_id=voucher_order_id)
        body = self.read_body(response, voucher_order_id)
        try:
            return codes_from_json(body)
        except RecordError as exc:
            raise DigiCertAPIError(
                f"the answer is not a list of voucher codes: {self.redact(str(exc))}",
                status=response.status_code,
                voucher_order_id=voucher_order_id,
            ) from None
        finally:
            del body

    def iter_codes_csv(self, voucher_order_id: int) -> Iterator[dict]:
        """Stream one order's codes from DigiCert's CSV, normalizing row by row (large orders)."""
        response = self.get(self._codes_path(voucher_order_id), accept="text/csv", voucher_order_id=voucher_order_id)
        read = 0
        decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")

        def lines() -> Iterator[str]:
            nonlocal read
            pending = ""
            for chunk in response.iter_content(chunk_size=256 * 1024):
                read += len(chunk)
                if read > self.max_response_bytes:
                    raise self._too_large(response, voucher_order_id)
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for line in complete:
                    yield line + "\n"
            pending += decoder.decode(b"", final=True)
            if pending:
                yield pending

        try:
            yield from iter_codes_from_csv(lines(), required_columns=CODE_FIELDS)
        except (RecordError, UnicodeDecodeError) as exc:
            raise DigiCertAPIError(
                f"the answer is not a CSV list of voucher codes: {self.redact(str(exc))}",
                status=response.status_code,
                voucher_order_id=voucher_order_id,
            ) from None
        except requests.exceptions.RequestException as exc:
            raise self._broken_off(exc, response, voucher_order_id) from None
        finally:
            response.close()

    def fetch_codes_of_orders(self, voucher_order_ids: list[int]) -> list[list[dict]]:
        """Fetch several orders in parallel on this one session; results keep the ids' order.

        The pool is bounded so a long id list cannot open a connection per order, and every request
        still passes the rate limiter. The first failure, in id order, is raised.
        """
        if len(voucher_order_ids) <= 1 or self.settings.max_workers <= 1:
            return [self.fetch_codes(order_id) for order_id in voucher_order_ids]
        workers = min(self.settings.max_workers, len(voucher_order_ids))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digicert") as pool:
            futures = [pool.submit(self.fetch_codes, order_id) for order_id in voucher_order_ids]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


_STATUS_REASONS = {
    400: "DigiCert rejected the request",
    401: "access denied: the API key was not accepted",
    403: "access denied: check the API key and its permissions",
    404: "not found: no such voucher order for this account",
    429: "rate limited by DigiCert (limits: 100 requests per 5 s, 1000 per 3 min per key)",
    500: "DigiCert had an internal error",
    502: "bad gateway between DigiCert's CDN and the API",
    503: "DigiCert is unavailable",
    504: "DigiCert's gateway timed out",
}


def _size_text(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _error_list(body: bytes) -> list[dict] | None:
    """DigiCert's ``{"errors": [{"code", "message"}]}``, or None if the body is something else."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("errors"), list):
        return None
    errors = []
    for error in document["errors"]:
        if isinstance(error, dict):
            errors.append({"code": str(error.get("code", "")), "message": str(error.get("message", ""))})
        else:
            errors.append({"code": "", "message": str(error)})
    return errors


def _text_snippet(text: str, length: int = 120) -> str:
    # Strip markup so a CDN's HTML page reads as its title and first words.
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text[:length] + ("..." if len(text) > length else "")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
