"""Unit tests of plugins/module_utils/_api.py without a server: connection settings, pacing, error values.

No test here sends a request: settings that point at DigiCert's real hosts are only parsed.
"""

from __future__ import annotations

import pytest
from ansible_collections.certops.digicert.plugins.module_utils._api import (
    RATE_LIMITS,
    ConnectionSettings,
    DigiCertAPIError,
    RateLimiter,
)

US_URL = "https://www.digicert.com/services/v2"
EU_URL = "https://certcentral.digicert.eu/services/v2"


def options(**overrides):
    # The module's defaults (argument spec), with a key.
    values = {
        "api_key": "k" * 32,
        "api_url": None,
        "platform": "us",
        "timeout": 30,
        "validate_certs": True,
        "ca_path": None,
        "retries": 5,
        "max_retry_wait": 60,
        "max_concurrent_requests": 8,
    }
    values.update(overrides)
    return values.get


# ---- ConnectionSettings.from_options -----------------------------------------------------------------------------


def test_defaults():
    settings = ConnectionSettings.from_options(options())
    assert settings == ConnectionSettings(
        api_key="k" * 32,
        api_url=US_URL,
        timeout=30.0,
        validate_certs=True,
        ca_path=None,
        retries=5,
        max_retry_wait=60.0,
        max_workers=8,
    )


@pytest.mark.parametrize(("platform", "url"), [("us", US_URL), ("eu", EU_URL), (None, US_URL), ("", US_URL)])
def test_platform_urls(platform, url):
    assert ConnectionSettings.from_options(options(platform=platform)).api_url == url


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("http://127.0.0.1:8080/services/v2", "http://127.0.0.1:8080/services/v2"),
        ("http://127.0.0.1:8080/services/v2/", "http://127.0.0.1:8080/services/v2"),
        ("https://[::1]/services/v2", "https://[::1]/services/v2"),
    ],
)
def test_api_url_overrides_the_platform(api_url, expected):
    settings = ConnectionSettings.from_options(options(api_url=api_url, platform="eu"))
    assert settings.api_url == expected


@pytest.mark.parametrize(
    "api_url",
    ["ftp://127.0.0.1/services/v2", "127.0.0.1/services/v2", "http://", "https:///services/v2", "file:///etc/passwd"],
)
def test_bad_api_url(api_url):
    with pytest.raises(ValueError, match=r"api_url must be an http\(s\) URL such as https://www\.digicert\.com"):
        ConnectionSettings.from_options(options(api_url=api_url))


@pytest.mark.parametrize(
    "api_url",
    [
        "https://user:secret@127.0.0.1/services/v2",
        "https://user@127.0.0.1/services/v2",
        "https://127.0.0.1/services/v2?key=abc",
        "https://127.0.0.1/services/v2#x",
    ],
)
def test_api_url_with_credentials_query_or_fragment(api_url):
    with pytest.raises(ValueError, match="must not contain credentials, a query or a fragment") as caught:
        ConnectionSettings.from_options(options(api_url=api_url))
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:99999/services/v2", "http://127.0.0.1:port/services/v2"])
def test_api_url_with_an_invalid_port(api_url):
    with pytest.raises(ValueError, match="api_url"):
        ConnectionSettings.from_options(options(api_url=api_url))


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_names_the_option_and_the_variable(key):
    with pytest.raises(ValueError) as caught:
        ConnectionSettings.from_options(options(api_key=key))
    assert "api_key" in str(caught.value)
    assert "DIGICERT_API_KEY" in str(caught.value)


@pytest.mark.parametrize("timeout", [0, -1, "0", -0.5])
def test_timeout_must_be_positive(timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        ConnectionSettings.from_options(options(timeout=timeout))


@pytest.mark.parametrize("timeout", ["nan", "inf"])
def test_timeout_must_be_a_finite_number(timeout):
    with pytest.raises(ValueError, match="timeout"):
        ConnectionSettings.from_options(options(timeout=timeout))


def test_numbers_as_strings_from_ini_or_environment():
    settings = ConnectionSettings.from_options(
        options(timeout="2.5", retries="0", max_retry_wait="0", max_concurrent_requests="32")
    )
    assert (settings.timeout, settings.retries, settings.max_retry_wait, settings.max_workers) == (2.5, 0, 0.0, 32)


@pytest.mark.parametrize(("name", "value"), [("retries", -1), ("max_retry_wait", -0.1)])
def test_negative_retries_or_wait(name, value):
    with pytest.raises(ValueError, match="retries and max_retry_wait must not be negative"):
        ConnectionSettings.from_options(options(**{name: value}))


@pytest.mark.parametrize("value", [0, 33, -1, 1000])
def test_max_concurrent_requests_out_of_range(value):
    with pytest.raises(ValueError, match=f"max_concurrent_requests must be between 1 and 32, not {value}"):
        ConnectionSettings.from_options(options(max_concurrent_requests=value))


@pytest.mark.parametrize("value", [1, 32])
def test_max_concurrent_requests_bounds_are_allowed(value):
    assert ConnectionSettings.from_options(options(max_concurrent_requests=value)).max_workers == value


def test_tls_options(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = ConnectionSettings.from_options(options(validate_certs=False, ca_path=str(bundle)))
    assert (settings.validate_certs, settings.ca_path) == (False, str(bundle))
    assert ConnectionSettings.from_options(options(ca_path="")).ca_path is None


def test_a_missing_ca_path_is_named(tmp_path):
    missing = str(tmp_path / "nowhere.pem")
    with pytest.raises(ValueError, match=r"^ca_path: .*nowhere\.pem is not a readable file"):
        ConnectionSettings.from_options(options(ca_path=missing))


@pytest.mark.parametrize("key", [" padded-key-123 ", "vaulted-key-456\n"])
def test_surrounding_whitespace_is_not_part_of_the_key(key):
    assert ConnectionSettings.from_options(options(api_key=key)).api_key == key.strip()


@pytest.mark.parametrize("key", ["inner\nnewline-key", "n\u00f6n-ascii-key", "tabbed\tkey-9"])
def test_a_key_that_cannot_be_a_header_is_refused_without_being_quoted(key):
    with pytest.raises(ValueError) as caught:
        ConnectionSettings.from_options(options(api_key=key))
    assert "api_key contains characters" in str(caught.value)
    assert key.split()[0] not in str(caught.value)


def test_the_key_is_kept_as_text():
    assert ConnectionSettings.from_options(options(api_key=12345678)).api_key == "12345678"


# ---- RateLimiter -------------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_documented_limits():
    assert sorted(RATE_LIMITS) == [(100, 5.0), (1000, 180.0)]


def test_hundred_per_five_seconds():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    assert [limiter.wait_turn() for _request in range(100)] == [0.0] * 100
    # The 101st waits until the first of the hundred is 5 s old.
    assert limiter.wait_turn() == 5.0
    assert clock.now == 1005.0
    assert clock.sleeps == [5.0]


def test_requests_spread_out_never_wait():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _request in range(300):
        assert limiter.wait_turn() == 0.0
        clock.now += 0.06  # about 83 per 5 s and 1000 per 60 s... but 300 in 18 s
    assert clock.sleeps == []


def test_thousand_per_three_minutes():
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    waits = [limiter.wait_turn() for _request in range(1001)]
    # Worked out by hand: bursts of 100 at t = 0, 5, ..., 45 (each burst after the first waits 5 s); the
    # 1001st request at t = 45 must wait until the request of t = 0 leaves the 180 s window: 135 s.
    expected = [0.0] * 1001
    for burst in range(1, 10):
        expected[burst * 100] = 5.0
    expected[1000] = 135.0
    assert waits == expected
    assert clock.now == 180.0
    # Right after, the 5 s window is empty and the 180 s window holds 900: no wait.
    assert limiter.wait_turn() == 0.0


def test_custom_limits_and_sliding_window():
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(limits=((2, 1.0),), clock=clock, sleep=clock.sleep)
    assert limiter.wait_turn() == 0.0  # t=0
    clock.now = 0.4
    assert limiter.wait_turn() == 0.0  # t=0.4
    clock.now = 0.5
    assert limiter.wait_turn() == pytest.approx(0.5)  # waits for t=0 to age out: until t=1.0
    assert limiter.wait_turn() == pytest.approx(0.4)  # then for t=0.4: until t=1.4


def test_a_request_counts_from_its_answer_not_from_when_it_was_sent():
    # DigiCert counts arrivals. Two requests sent at t=0 are answered at t=0.3; with a limit of 2 per
    # second, a third may go at t=1.3 (a second after the answers), not at t=1.0 (after the sends).
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(limits=((2, 1.0),), clock=clock, sleep=clock.sleep)
    first, second = limiter.begin(), limiter.begin()
    clock.now = 0.3
    limiter.done(first)
    limiter.done(second)
    assert limiter.wait_turn() == pytest.approx(1.0)
    assert clock.now == pytest.approx(1.3)


def test_requests_in_flight_fill_the_window():
    # While two requests are unanswered they count as now: a third waits for one of them to be answered
    # and then for a full window after that answer.
    clock = FakeClock(start=0.0)
    answered: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if not answered:
            answered.append(clock.now)
            limiter.done(first)

    limiter = RateLimiter(limits=((2, 1.0),), clock=clock, sleep=sleep)
    first = limiter.begin()
    limiter.begin()
    # At t=0 both count as "now", so the limiter sleeps a window (1 s); the first answer arrives at t=1.0,
    # and the third request may go a full window later, at t=2.0.
    assert limiter.wait_turn() == pytest.approx(2.0)
    assert answered == [pytest.approx(1.0)]


# ---- DigiCertAPIError --------------------------------------------------------------------------------------------


def test_error_message_without_status_or_order():
    error = DigiCertAPIError("cannot reach 127.0.0.1: Connection refused")
    assert str(error) == "DigiCert request for the DigiCert API failed: cannot reach 127.0.0.1: Connection refused"
    assert error.error_codes == []
    assert error.as_result() == {"http_status": None, "error_codes": [], "errors": [], "voucher_order_id": None}


def test_error_message_with_every_part():
    error = DigiCertAPIError(
        "not found",
        status=404,
        errors=[{"code": "not_found", "message": "The requested resource was not found."}],
        voucher_order_id=25252,
        url="http://127.0.0.1/x",
    )
    assert str(error) == (
        "DigiCert request for voucher order 25252 failed with HTTP 404: not found. "
        "DigiCert said: not_found: The requested resource was not found."
    )
    assert error.message == str(error)
    assert error.url == "http://127.0.0.1/x"
