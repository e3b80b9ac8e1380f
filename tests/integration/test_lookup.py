"""certops.digicert.digicert_voucher_codes (lookup) in real ansible-playbook runs against the DigiCert simulator.

The issue: "The digicert_voucher_codes lookup, with one request per voucher order per run". A lookup in an
inventory variable is evaluated again for every host and every task that reads the variable, in forked
workers; the lookup's per-run cache must turn that into one request per voucher order.
"""

from __future__ import annotations

import re

import pytest

from tests import documented_samples as samples

HOSTS = 60
TASKS_READING = 2  # playbooks/lookup/fleet.yml reads `codes` in two tasks
FORKS = 20
DOWNLOAD_25252 = "/services/v2/voucher/25252/download"
QUERY_VARS = "codes: \"{{ query('certops.digicert.digicert_voucher_codes', 25252) }}\"\n"
LOOKUP_VARS = "codes: \"{{ lookup('certops.digicert.digicert_voucher_codes', 25252) }}\"\n"
WRONG_KEY = "wrong-key-5d8c1e7a09b34f26"

CODE_VALUE = re.compile(r"[A-Z2-7]{32}")


def assert_every_host_saw(run, hosts, expected):
    for host in hosts:
        assert run.ok("first read", host)["msg"] == expected, host
        assert run.ok("second read", host)["ansible_facts"]["codes_seen"] == expected, host


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group_vars", "expected"),
    [(QUERY_VARS, [samples.TYPED_49170]), (LOOKUP_VARS, samples.TYPED_49170)],
    ids=["query", "lookup"],
)
def test_fleet_makes_one_request_per_order(play, sim, fleet_inventory, file_tools, group_vars, expected):
    """60 hosts x 2 tasks, 20 forks: one request. A plain lookup() of one code gives the record itself."""
    play.cache_dir.mkdir(mode=0o755)
    play.cache_dir.chmod(0o755)  # too open on purpose: the lookup must make it private
    inventory = fleet_inventory(HOSTS, group_vars)
    run = play.run("lookup/fleet.yml", inventory=inventory.path, forks=FORKS)
    assert run.rc == 0, run
    assert_every_host_saw(run, inventory.hosts, expected)

    stats = sim.stats()
    print(f"\nlookup with cache: {stats['requests']} request(s) for {HOSTS} hosts x {TASKS_READING} tasks")
    assert stats["by_path"] == {DOWNLOAD_25252: 1}

    assert file_tools.mode_of(play.cache_dir) == 0o700
    entries = file_tools.files_under(play.cache_dir)
    assert entries, "the cache wrote nothing"
    for path in entries:
        assert file_tools.mode_of(path) == 0o600, path
    file_tools.assert_not_in_files(sim.api_key, entries)
    assert sim.api_key not in run.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group_vars", "switch", "hosts"),
    [
        (QUERY_VARS, {"cfg": {"certops_digicert": {"cache": "false"}}}, HOSTS),
        # The environment switch on a small fleet: the count per evaluation is the same, the run much shorter.
        (LOOKUP_VARS, {"env": {"DIGICERT_CACHE": "false"}}, 3),
    ],
    ids=["query-ansible.cfg", "lookup-env"],
)
def test_fleet_without_cache_asks_on_every_evaluation(play, sim, fleet_inventory, group_vars, switch, hosts):
    """With the cache off, every evaluation of the variable is a request: this is what the cache saves."""
    inventory = fleet_inventory(hosts, group_vars)
    run = play.run("lookup/fleet.yml", inventory=inventory.path, forks=FORKS, **switch)
    assert run.rc == 0, run
    assert_every_host_saw(
        run, inventory.hosts, [samples.TYPED_49170] if group_vars == QUERY_VARS else samples.TYPED_49170
    )
    requests = sim.stats()["by_path"].get(DOWNLOAD_25252, 0)
    print(f"\nlookup without cache: {requests} requests for {hosts} hosts x {TASKS_READING} tasks (forks {FORKS})")
    # Measured with ansible-core 2.19: Ansible templates the variable once per host and task that reads it.
    assert requests == hosts * TASKS_READING
    assert not play.cache_dir.exists() or not any(play.cache_dir.iterdir())


def test_options_and_return_shapes(play, sim):
    run = play.run("lookup/options.yml")
    assert run.rc == 0, run

    values = run.ok("plain values")["msg"]
    assert len(values) == 6
    assert all(isinstance(value, str) and CODE_VALUE.fullmatch(value) for value in values), values
    assert values[0] == "K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G"
    assert run.ok("values of two orders")["msg"] == [
        "ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS",
        "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM",
        "4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5",
    ]
    assert run.ok("filtered ids")["msg"] == [49250, 49251, 49252, 49253, 49262]
    records = run.ok("records")["msg"]
    assert [record["id"] for record in records] == [49178, 49179]
    assert records[1]["certificate_order_id"] == 204928161
    assert records[1]["cert_validity_start_date"] is None
    # Ansible's own lookup() conventions, as the lookup's notes describe them.
    assert run.ok("lookup joins strings")["msg"] == "ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM,4U6P5PVRG6HMOWYNGRD3HBM6QUSJRDH5"
    assert run.ok("lookup of one code")["msg"] == samples.TYPED_49170
    assert run.ok("lookup wantlist")["msg"] == [samples.TYPED_49170]
    assert run.ok("empty order")["msg"] == []

    assert "no_such_field" in run.failed("unknown field")["msg"]
    assert "25252abc" in run.failed("malformed term")["msg"]
    unknown = run.failed("unknown order")["msg"]
    assert "voucher order 99999" in unknown and "404" in unknown and "not_found" in unknown

    # One run, one request per order, however many tasks asked (the failed order is not cached).
    assert sim.stats()["by_path"] == {
        "/services/v2/voucher/25252/download": 1,
        "/services/v2/voucher/25256/download": 1,
        "/services/v2/voucher/25260/download": 1,
        "/services/v2/voucher/25261/download": 1,
        "/services/v2/voucher/25270/download": 1,
        "/services/v2/voucher/99999/download": 1,
    }
    assert "Traceback" not in run.output


def test_connection_sources(play, sim, closed_url):
    ini = {"certops_digicert": {"api_url": sim.base_url, "api_key": "ini-key-must-be-ignored"}}
    run = play.run(
        "lookup/from_ini.yml",
        cfg=ini,
        unset=["DIGICERT_API_URL", "DIGICERT_API_KEY"],
        extra_vars={"sim_key": sim.api_key},
    )
    assert run.rc == 0, run
    assert run.ok("url from ansible.cfg")["msg"] == [49170]
    missing = run.failed("key not read from ansible.cfg")["msg"]
    assert "api_key is required" in missing, missing

    run = play.run(
        "lookup/from_vars.yml",
        env={"DIGICERT_API_URL": closed_url, "DIGICERT_API_KEY": WRONG_KEY},
        extra_vars={"digicert_api_url": sim.base_url, "digicert_api_key": sim.api_key, "closed_url": closed_url},
    )
    assert run.rc == 0, run
    assert run.ok("variables beat the environment")["msg"] == [49170]
    assert "cannot reach 127.0.0.1" in run.failed("a direct option beats variables")["msg"]

    assert sim.stats()["by_path"] == {"/services/v2/voucher/25252/download": 2}


def test_templated_connection_variables(play, sim, closed_url):
    run = play.run(
        "lookup/templated_vars.yml",
        env={"DIGICERT_API_URL": closed_url},
        unset=["DIGICERT_API_KEY"],
        extra_vars={"sim_url": sim.base_url, "sim_key": sim.api_key},
    )
    assert run.ok("templated variables")["msg"] == [49170]


def test_wrong_key_fails_the_play_without_showing_the_key(play, sim, tmp_path, file_tools):
    run = play.run("lookup/wrong_key.yml", env={"DIGICERT_API_KEY": WRONG_KEY}, verbosity=4)
    assert run.rc == 2, run
    message = run.failed("codes with a wrong key")["msg"]
    assert "access denied" in message.lower()
    assert "access_denied|access_denied_invalid_key" in message
    assert "voucher order 25252" in message
    with pytest.raises(KeyError):
        run.event("never reached")
    assert "Traceback" not in run.output

    assert WRONG_KEY not in run.output
    file_tools.assert_not_in_files(WRONG_KEY, file_tools.files_under(tmp_path))
    assert sim.stats()["by_path"] == {DOWNLOAD_25252: 1}
