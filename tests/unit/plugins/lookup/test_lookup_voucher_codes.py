"""The digicert_voucher_codes lookup, loaded by name through Ansible's plugin loader and run in-process."""

from __future__ import annotations

import os
import stat
import sys

import certops_unit_support as support
import pytest
from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from tests import documented_samples as samples

LOOKUP_NAME = "certops.digicert.digicert_voucher_codes"


@pytest.fixture(autouse=True)
def private_cache_dir(tmp_path, monkeypatch):
    # Never the real ~/.cache: every test gets its own cache folder through the documented variable.
    directory = tmp_path / "lookup-cache"
    monkeypatch.setenv("DIGICERT_CACHE_DIR", str(directory))
    return directory


@pytest.fixture
def lookup():
    plugin = lookup_loader.get(LOOKUP_NAME)
    assert plugin is not None, "the lookup is not on the collections path"
    return plugin


@pytest.fixture
def vvv_lines(lookup, monkeypatch):
    lines: list[str] = []
    module = sys.modules[type(lookup).__module__]
    monkeypatch.setattr(module.display, "vvv", lambda message, *args, **kwargs: lines.append(message))
    return lines


def connection(sim) -> dict:
    return {"api_key": sim.api_key, "api_url": sim.base_url}


def test_loaded_from_this_collection(lookup):
    assert type(lookup).__module__ == "ansible_collections.certops.digicert.plugins.lookup.digicert_voucher_codes"
    assert os.path.realpath(sys.modules[type(lookup).__module__].__file__) == str(
        support.REPO / "plugins" / "lookup" / "digicert_voucher_codes.py"
    )


def test_options_as_keyword_arguments(lookup, digicert_sim):
    assert lookup.run([25252], **connection(digicert_sim)) == samples.TYPED_ORDER_25252


def test_options_from_variables(lookup, digicert_sim):
    variables = {"digicert_api_key": digicert_sim.api_key, "digicert_api_url": digicert_sim.base_url}
    assert lookup.run([25256], variables=variables) == samples.TYPED_ORDER_25256


def test_options_from_the_environment(lookup, digicert_sim, monkeypatch):
    monkeypatch.setenv("DIGICERT_API_KEY", digicert_sim.api_key)
    monkeypatch.setenv("DIGICERT_API_URL", digicert_sim.base_url + "/")
    assert lookup.run(["25252"], variables={}) == samples.TYPED_ORDER_25252


def test_keyword_arguments_win_over_variables_and_variables_over_the_environment(lookup, digicert_sim, monkeypatch):
    monkeypatch.setenv("DIGICERT_API_KEY", "environment-key-that-is-wrong-000")
    monkeypatch.setenv("DIGICERT_API_URL", digicert_sim.base_url)
    variables = {"digicert_api_key": digicert_sim.api_key}
    assert lookup.run([25252], variables=variables, cache=False) == samples.TYPED_ORDER_25252
    wrong_variables = {"digicert_api_key": "variable-key-that-is-wrong-0000"}
    assert lookup.run([25252], variables=wrong_variables, api_key=digicert_sim.api_key, cache=False)


def test_several_orders_in_the_order_given(lookup, digicert_sim):
    codes = lookup.run([25256, 25252, "25256"], **connection(digicert_sim))
    assert codes == samples.TYPED_ORDER_25256 + samples.TYPED_ORDER_25252
    assert digicert_sim.stats()["requests"] == 2


def test_field_value_gives_plain_strings(lookup, digicert_sim):
    values = lookup.run([25256], field="value", **connection(digicert_sim))
    assert values == ["ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM", "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5"]
    assert lookup.run([25256], field="certificate_order_id", **connection(digicert_sim)) == [204928160, 204928161]


def test_unknown_field(lookup, digicert_sim):
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([25252], field="nope", **connection(digicert_sim))
    message = str(caught.value)
    assert "field: 'nope' is not a field of DigiCert voucher codes" in message
    assert "known: id, value, product_name" in message


def test_field_of_no_codes_is_an_empty_list(lookup, digicert_sim):
    assert lookup.run([25270], field="nope", **connection(digicert_sim)) == []


@pytest.mark.parametrize(
    ("options", "ids"),
    [
        ({"status": ["ACTIVE"]}, [49250, 49251, 49252, 49253, 49254, 49255, 49262, 49263]),
        ({"status": "used"}, [49260, 49261]),
        ({"product_name": ["secure site pro ev ssl"]}, [49254, 49255, 49263]),
        ({"status": ["active"], "product_name": "Basic OV"}, [49250, 49251, 49252, 49253, 49262]),
    ],
)
def test_status_and_product_filters(lookup, digicert_sim, options, ids):
    assert lookup.run([25260, 25261], field="id", **options, **connection(digicert_sim)) == ids


# ---- the cache ---------------------------------------------------------------------------------------------------


def test_cache_on_second_call_costs_no_request(lookup, digicert_sim, private_cache_dir):
    first = lookup.run([25252, 25256], **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 2
    # A fresh plugin instance, as every task and host gets, in the same run.
    second = lookup_loader.get(LOOKUP_NAME).run([25256, 25252], **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 2
    assert first == samples.TYPED_ORDER_25252 + samples.TYPED_ORDER_25256
    assert second == samples.TYPED_ORDER_25256 + samples.TYPED_ORDER_25252
    assert stat.S_IMODE(os.stat(private_cache_dir).st_mode) == 0o700
    for name in os.listdir(private_cache_dir):
        assert stat.S_IMODE(os.stat(private_cache_dir / name).st_mode) == 0o600
        assert digicert_sim.api_key not in name


def test_cache_dir_as_an_option(lookup, digicert_sim, tmp_path):
    directory = tmp_path / "given"
    lookup.run([25252], cache_dir=str(directory), **connection(digicert_sim))
    assert len(list(directory.glob("codes-*.json"))) == 1


def test_cache_off_asks_every_time(lookup, digicert_sim, private_cache_dir):
    lookup.run([25252], cache=False, **connection(digicert_sim))
    lookup.run([25252], cache=False, **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 2
    assert not private_cache_dir.exists()


def test_cache_off_from_the_environment(lookup, digicert_sim, monkeypatch):
    monkeypatch.setenv("DIGICERT_CACHE", "false")
    lookup.run([25252], **connection(digicert_sim))
    lookup.run([25252], **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 2


def test_cache_is_per_key(lookup, digicert_sim):
    lookup.run([25252], **connection(digicert_sim))
    with pytest.raises(AnsibleLookupError, match="access_denied"):
        lookup.run([25252], api_key="another-key-0000000000000", api_url=digicert_sim.base_url)
    assert digicert_sim.stats()["requests"] == 2


def test_an_unsafe_cache_folder_is_an_error(lookup, digicert_sim, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(AnsibleLookupError, match="is not a folder"):
        lookup.run([25252], cache_dir=str(link), **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 0


def test_log_lines_at_vvv_never_hold_the_key(lookup, digicert_sim, vvv_lines):
    lookup.run([25252], **connection(digicert_sim))
    lookup.run([25252], **connection(digicert_sim))
    lookup.run([25252], cache=False, **connection(digicert_sim))
    text = "\n".join(vvv_lines)
    assert "certops.digicert.digicert_voucher_codes: cache miss for voucher order 25252: asking DigiCert" in text
    assert "certops.digicert.digicert_voucher_codes: cache hit for voucher order 25252" in text
    assert "cache off: asking DigiCert for every order" in text
    assert sum("-> HTTP 200" in line for line in vvv_lines) == 2
    support.assert_no_key(text, digicert_sim.api_key)


# ---- failures ----------------------------------------------------------------------------------------------------


def test_wrong_key(lookup, digicert_sim, vvv_lines):
    wrong = "lookup-wrong-key-9f8e7d6c5b4a3210"
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([25252], api_key=wrong, api_url=digicert_sim.base_url)
    message = str(caught.value)
    assert "access_denied|access_denied_invalid_key" in message
    assert "HTTP 403" in message
    assert "voucher order 25252" in message
    support.assert_no_key(message + "\n".join(vvv_lines), wrong)


@pytest.mark.parametrize("terms", [["25252abc"], [25252, "../voucher"], [0], []])
def test_bad_ids_fail_before_any_request(lookup, digicert_sim, terms):
    with pytest.raises(AnsibleLookupError, match=r"voucher order ids \(terms\)"):
        lookup.run(terms, **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 0


def test_missing_key(lookup, digicert_sim):
    with pytest.raises(AnsibleLookupError, match="DIGICERT_API_KEY"):
        lookup.run([25252], api_url=digicert_sim.base_url)


def test_bad_connection_option(lookup, digicert_sim):
    with pytest.raises(AnsibleLookupError, match="timeout must be a positive number"):
        lookup.run([25252], timeout=0, **connection(digicert_sim))


def test_unknown_platform_is_refused_before_any_request(lookup, digicert_sim):
    # No api_url here on purpose: nothing may be sent anywhere, and nothing is.
    with pytest.raises(AnsibleError, match="platform"):
        lookup.run([25252], api_key=digicert_sim.api_key, platform="asia", cache=False)


def test_api_failure_is_a_lookup_error(lookup, digicert_sim):
    digicert_sim.add_faults([{"order": 25256, "kind": "status:503", "times": 0}])
    with pytest.raises(AnsibleLookupError) as caught:
        lookup.run([25256], retries=1, **connection(digicert_sim))
    assert "HTTP 503" in str(caught.value)
    assert "<" not in str(caught.value)
    assert digicert_sim.stats()["requests"] == 2


# ---- orders found by filters instead of ids ------------------------------------------------------------------------


def test_voucher_orders_by_filters(lookup, digicert_sim):
    # 25256 and 25252 are the fully used orders; DigiCert lists the newer (25256) first.
    ids = lookup.run([], voucher_orders={"codes_status": "used"}, field="id", **connection(digicert_sim))
    assert ids == [49178, 49179, 49170]


def test_voucher_orders_and_terms_together(lookup, digicert_sim):
    with pytest.raises(AnsibleLookupError, match="not both"):
        lookup.run([25252], voucher_orders={"codes_status": "used"}, **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 0


def test_voucher_orders_with_a_bad_filter(lookup, digicert_sim):
    with pytest.raises(AnsibleLookupError, match=r"voucher_orders\.colour is not a voucher order filter"):
        lookup.run([], voucher_orders={"colour": "red"}, **connection(digicert_sim))


def test_without_requests_the_lookup_says_what_is_missing(lookup, digicert_sim, monkeypatch):
    monkeypatch.setattr(
        sys.modules[type(lookup).__module__], "REQUESTS_IMPORT_ERROR", "ModuleNotFoundError: no requests\n"
    )
    with pytest.raises(AnsibleLookupError, match="requests is required"):
        lookup.run([25252], **connection(digicert_sim))


def test_an_unknown_option_is_an_error_not_ignored(lookup, digicert_sim):
    # A typo such as stauts= would otherwise return every code, used ones included.
    with pytest.raises(AnsibleLookupError, match=r"^unknown option stauts; ansible-doc -t lookup"):
        lookup.run([25252], stauts="active", **connection(digicert_sim))
    assert digicert_sim.stats()["requests"] == 0


def test_an_empty_cache_dir_setting_means_the_default_folder(tmp_path, monkeypatch):
    from ansible_collections.certops.digicert.plugins.module_utils._cache import CodesCache

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cache = CodesCache("", "http://127.0.0.1:9/services/v2", "key-for-empty-dir-test", ttl=60, run_id="r")
    assert cache.directory == str(tmp_path / ".cache" / "certops.digicert")


def test_orders_found_by_filters_are_listed_once_per_run(lookup, digicert_sim):
    # An inventory variable with voucher_orders is evaluated per host: the listing is cached like the codes.
    first = lookup.run([], voucher_orders={"codes_status": "unused"}, field="id", **connection(digicert_sim))
    listed = digicert_sim.stats()["by_path"].get("/services/v2/voucher", 0)
    second = lookup.run([], voucher_orders={"codes_status": "unused"}, field="id", **connection(digicert_sim))
    assert second == first and first
    assert listed >= 1
    assert digicert_sim.stats()["by_path"].get("/services/v2/voucher", 0) == listed
