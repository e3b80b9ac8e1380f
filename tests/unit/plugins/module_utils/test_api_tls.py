"""TLS between the client and the simulator: a private CA and a certificate for 127.0.0.1, made for this test."""

from __future__ import annotations

import certops_unit_support as support
import pytest
from ansible_collections.certops.digicert.plugins.module_utils._api import DigiCertAPIError, DigiCertClient

from tests import documented_samples as samples

x509 = pytest.importorskip("cryptography.x509")
from tests.private_ca import write_private_ca  # noqa: E402


def make_pki(directory):
    """Write ca.pem, server.pem (for IP 127.0.0.1, signed by the CA) and server-key.pem; return their paths."""
    paths = write_private_ca(directory, "certops unit test")
    return {name: str(paths[name]) for name in ("ca", "server", "server-key")}


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    pki = make_pki(directory)
    control = support.simulator_control()
    process = control.SimulatorProcess(
        tls_cert=pki["server"], tls_key=pki["server-key"], ca_file=pki["ca"], state_dir=directory / "state"
    )
    process.start()
    try:
        yield process, pki
    finally:
        pid = process.pid
        process.stop()
        assert not support.pid_alive(pid)


@pytest.fixture
def no_ca_bundle_variables(monkeypatch):
    # requests lets these variables override the session's trust settings; see the tests that keep them.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def client(process, **overrides):
    sleep = support.RecordingSleep()
    settings = support.settings_for(process.base_url, process.api_key, **overrides)
    return DigiCertClient(settings, sleep=sleep), sleep


def test_simulator_serves_https(tls_sim):
    process, _pki = tls_sim
    assert process.base_url.startswith("https://127.0.0.1:")


@pytest.mark.usefixtures("no_ca_bundle_variables")
def test_untrusted_certificate_fails_with_a_clear_message(tls_sim):
    process, _pki = tls_sim
    process.reset()
    api, sleep = client(process, validate_certs=True, ca_path=None, retries=3)
    with api, pytest.raises(DigiCertAPIError) as caught:
        api.fetch_codes(25252)
    message = str(caught.value)
    assert caught.value.status is None
    assert message.startswith("DigiCert request for voucher order 25252 failed: TLS verification of 127.0.0.1 failed")
    assert "ca_path" in message
    assert "Traceback" not in message and " object at 0x" not in message
    assert sleep.delays == []
    # Not retried: a certificate does not become trusted by asking again.
    assert process.stats()["requests"] == 0


@pytest.mark.usefixtures("no_ca_bundle_variables")
def test_untrusted_certificate_message_gives_the_reason(tls_sim):
    process, _pki = tls_sim
    api, _sleep = client(process, validate_certs=True, ca_path=None)
    with api, pytest.raises(DigiCertAPIError) as caught:
        api.fetch_codes(25252)
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "Max retries exceeded" not in message
    assert "HTTPSConnectionPool" not in message


@pytest.mark.usefixtures("no_ca_bundle_variables")
def test_ca_path_makes_the_certificate_trusted(tls_sim):
    process, pki = tls_sim
    api, _sleep = client(process, validate_certs=True, ca_path=pki["ca"])
    with api:
        assert api.fetch_codes(25252) == samples.TYPED_ORDER_25252
        assert list(api.iter_codes_csv(25256)) == samples.TYPED_ORDER_25256


@pytest.mark.usefixtures("no_ca_bundle_variables")
def test_validate_certs_false_accepts_the_certificate(tls_sim):
    process, _pki = tls_sim
    api, _sleep = client(process, validate_certs=False)
    with api, pytest.warns(Warning, match="Unverified HTTPS request"):
        assert api.fetch_codes(25256) == samples.TYPED_ORDER_25256


@pytest.mark.usefixtures("no_ca_bundle_variables")
def test_ca_path_of_another_ca_fails(tls_sim, tmp_path):
    process, _pki = tls_sim
    other = make_pki(tmp_path)
    api, _sleep = client(process, validate_certs=True, ca_path=other["ca"])
    with api, pytest.raises(DigiCertAPIError, match=r"TLS verification of 127\.0\.0\.1 failed"):
        api.fetch_codes(25252)


# Many machines set REQUESTS_CA_BUNDLE (this one does); requests then lets the variable win over a session's
# verify setting, so the client must pass its trust settings with each request.


@pytest.fixture
def system_ca_bundle_variable(monkeypatch, tls_sim, tmp_path):
    # A bundle that does not hold the test CA, like the system bundle.
    other = make_pki(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other["ca"])
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.mark.usefixtures("system_ca_bundle_variable")
def test_ca_path_wins_over_requests_ca_bundle(tls_sim):
    process, pki = tls_sim
    api, _sleep = client(process, validate_certs=True, ca_path=pki["ca"])
    with api:
        assert api.fetch_codes(25252) == samples.TYPED_ORDER_25252


@pytest.mark.usefixtures("system_ca_bundle_variable")
@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_validate_certs_false_wins_over_requests_ca_bundle(tls_sim):
    process, _pki = tls_sim
    api, _sleep = client(process, validate_certs=False)
    with api:
        assert api.fetch_codes(25252) == samples.TYPED_ORDER_25252
