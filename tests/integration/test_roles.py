"""The roles voucher_report and voucher_allocate in real ansible-playbook runs against the DigiCert simulator.

Fixtures come from tests/conftest.py (``sim``) and tests/integration/conftest.py (``play``, ``runner``). Expected
CSV text and allocations are written out by hand from the simulator's documented data set (report rows in
tests/documented_samples.py); the allocation follows the score table in tests/unit/plugins/test_allocation.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import sys
import urllib.request

import pytest

from tests import documented_samples as samples

REPORT_ORDERS = (25252, 25256, 25260, 25261)
ALL_ORDERS = REPORT_ORDERS
SUMMARY = {
    "total": 13,
    "by_status": {"active": 8, "used": 5},
    "by_product": {"Basic OV": 9, "Secure Site Pro EV SSL": 4},
    "expiring_within_days": 30,
    "expiring": [],
}

# Hosts of the allocation inventory, and what each gets (Basic OV, orders 25252, 25256, 25260 and 25261).
# legacy keeps the used code 49178 (example.com, requested after 49170); www-a and www-b share a common name.
FLEET = {
    "web1": "web1.example.com",
    "web2": "web2.example.com",
    "web3": "web3.example.com",
    "legacy": "example.com",
    "www-a": "www.example.com",
    "www-b": "WWW.example.com",
}
EXPECTED_IDS = {"web1": 49252, "web2": 49262, "web3": 49250, "legacy": 49178, "www-a": 49253, "www-b": 49253}


def recap(run) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host from the default callback's output."""
    counters = {}
    for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", run.stdout, re.MULTILINE):
        counters[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
    return counters


def write_inventory(runner, hosts: dict[str, str], name: str = "fleet.ini"):
    lines = ["[fleet]"]
    lines += [f"{host} voucher_allocate_common_name={common_name}" for host, common_name in hosts.items()]
    lines += ["", "[fleet:vars]", "ansible_connection=local", f"ansible_python_interpreter={sys.executable}"]
    return runner.write(name, "\n".join(lines) + "\n")


def report_vars(dest, **extra):
    return {"voucher_report_order_ids": list(REPORT_ORDERS), "voucher_report_dest": str(dest), **extra}


def allocate_vars(orders=ALL_ORDERS, product="Basic OV", **extra):
    return {"voucher_allocate_order_ids": list(orders), "voucher_allocate_product_name": product, **extra}


def codes_by_host(run, hosts) -> dict[str, dict]:
    return {host: run.ok("Show the code", host)["voucher_allocate_code"] for host in hosts}


# ---- voucher_report -------------------------------------------------------------------------------------------


def test_report_is_utf8_rfc4180_with_formulas_neutralized(play, sim, tmp_path):
    dest = tmp_path / "codes.csv"
    run = play.run("roles/report.yml", extra_vars=report_vars(dest))
    assert run.rc == 0, run
    data = dest.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[-1] == "" and "\n" not in "".join(lines)
    assert lines[0] == samples.CSV_HEADER
    assert lines[1] == samples.REPORT_ROW_49170
    assert samples.REPORT_ROW_49260 in lines
    assert samples.REPORT_ROW_49261 in lines
    assert len(lines) == 1 + 13 + 1
    # A CSV reader gets the exact organization back, and the neutralized formula as text.
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert rows["49260"]["cert_organization"] == 'Müller & Søn, "Ærø"'
    assert rows["49261"]["cert_organization"] == "'=1+2"
    assert rows["49261"]["cert_common_name"] == "'-cmd.example.com"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert run.ok("Show the summary")["voucher_report_summary"] == {**SUMMARY, "dest": str(dest)}


def test_report_second_run_changes_nothing(play, sim, tmp_path):
    dest = tmp_path / "codes.csv"
    first = play.run("roles/report.yml", extra_vars=report_vars(dest))
    assert first.rc == 0, first
    assert recap(first)["localhost"]["changed"] == 1
    before = dest.stat()
    second = play.run("roles/report.yml", extra_vars=report_vars(dest))
    assert second.rc == 0, second
    assert recap(second)["localhost"]["changed"] == 0
    after = dest.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_report_byte_order_mark_filters_columns_and_mode(play, sim, tmp_path):
    dest = tmp_path / "unused.csv"
    extra = report_vars(
        dest,
        voucher_report_byte_order_mark=True,
        voucher_report_status=["active"],
        voucher_report_product_name=["Basic OV"],
        voucher_report_columns=["voucher_order_id", "id", "cert_organization"],
        voucher_report_mode="0640",
    )
    run = play.run("roles/report.yml", extra_vars=extra)
    assert run.rc == 0, run
    assert (
        dest.read_bytes()
        == (
            "\ufeffvoucher_order_id,id,cert_organization\r\n"
            "25260,49250,\r\n25260,49251,\r\n25260,49252,\r\n25260,49253,\r\n25261,49262,\r\n"
        ).encode()
    )
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    summary = run.ok("Show the summary")["voucher_report_summary"]
    assert (summary["total"], summary["by_status"], summary["by_product"]) == (5, {"active": 5}, {"Basic OV": 5})


def test_report_check_mode_writes_nothing(play, sim, tmp_path):
    dest = tmp_path / "codes.csv"
    run = play.run("roles/report.yml", extra_vars=report_vars(dest), check=True)
    assert run.rc == 0, run
    assert not dest.exists()
    assert list(tmp_path.glob(".certops-*")) == []
    # The summary is still there: DigiCert is read in check mode.
    assert run.ok("Show the summary")["voucher_report_summary"]["total"] == 13

    dest.write_bytes(b"an older report\r\n")
    run = play.run("roles/report.yml", extra_vars=report_vars(dest), check=True)
    assert run.rc == 0, run
    assert recap(run)["localhost"]["changed"] == 1
    assert dest.read_bytes() == b"an older report\r\n"


@pytest.mark.parametrize("failure", ["wrong key", "order fails half-way"])
def test_report_failure_keeps_the_old_report(play, sim, tmp_path, failure):
    dest = tmp_path / "codes.csv"
    assert play.run("roles/report.yml", extra_vars=report_vars(dest)).rc == 0
    old_bytes, old_stat = dest.read_bytes(), dest.stat()
    env = {}
    if failure == "wrong key":
        env["DIGICERT_API_KEY"] = "not-the-key-0123456789"
    else:
        # The last order fails after the first three were already streamed into the temporary file.
        sim.add_faults([{"order": 25261, "kind": "status:404", "times": 0}])
    run = play.run("roles/report.yml", extra_vars=report_vars(dest, voucher_report_status=["used"]), env=env)
    assert run.rc != 0
    message = run.failed("certops.digicert.voucher_report : Write the voucher code report on the controller")["msg"]
    assert ("access_denied" if failure == "wrong key" else "25261") in message
    assert "not-the-key" not in run.output
    assert dest.read_bytes() == old_bytes
    assert dest.stat().st_mtime_ns == old_stat.st_mtime_ns
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".certops-")) == []


def test_report_runs_once_for_a_whole_inventory(play, sim, tmp_path):
    inventory = write_inventory(play, {"web1": "web1", "web2": "web2", "web3": "web3"})
    dest = tmp_path / "codes.csv"
    run = play.run("roles/report.yml", extra_vars=report_vars(dest), inventory=inventory)
    assert run.rc == 0, run
    assert sim.stats()["requests"] == len(REPORT_ORDERS)
    for host in ("web1", "web2", "web3"):
        assert run.ok("Show the summary", host)["voucher_report_summary"]["total"] == 13


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"voucher_report_order_ids": [25252]}, "voucher_report_dest"),
        ({"voucher_report_dest": "/tmp/x.csv"}, "voucher_report_order_ids"),
        ({"voucher_report_order_ids": ["abc"], "voucher_report_dest": "/tmp/x.csv"}, "voucher_report_order_ids"),
        ({**report_vars("/tmp/x.csv"), "voucher_report_platform": "asia"}, "voucher_report_platform"),
        ({**report_vars("/tmp/x.csv"), "voucher_report_expiry_days": "soon"}, "voucher_report_expiry_days"),
    ],
)
def test_report_arguments_are_validated(play, sim, variables, message):
    run = play.run("roles/report.yml", extra_vars=variables)
    assert run.rc != 0
    validation = run.event(
        "certops.digicert.voucher_report : Validating arguments against arg spec 'main' - "
        "Write a CSV report of the codes of DigiCert voucher orders"
    )
    assert validation["status"] == "failed"
    assert message in validation["result"]["msg"]
    assert sim.stats()["requests"] == 0


# ---- voucher_allocate -----------------------------------------------------------------------------------------


def test_allocation_gives_distinct_stable_codes_once_per_order(play, sim):
    inventory = write_inventory(play, FLEET)
    first = play.run("roles/allocate.yml", extra_vars=allocate_vars(), inventory=inventory)
    assert first.rc == 0, first
    codes = codes_by_host(first, FLEET)
    assert {host: code["id"] for host, code in codes.items()} == EXPECTED_IDS
    assert codes["legacy"]["status"] == "used" and codes["legacy"]["cert_common_name"] == "example.com"
    assert all(codes[host]["status"] == "active" for host in ("web1", "web2", "web3", "www-a"))
    assert codes["www-a"] == codes["www-b"]
    assert len({codes[host]["value"] for host in ("web1", "web2", "web3", "www-a", "legacy")}) == 5
    # The full normalized record: integers are integers, DigiCert's blank dates are null.
    assert codes["web1"]["value"] == "M2XC7RB4QV6ZNK3TWH5PJG2DLA7FYS6E"
    assert codes["web1"]["no_of_fqdns"] == 3 and codes["web1"]["cert_common_name"] is None
    # One request per voucher order for six hosts.
    stats = sim.stats()
    assert stats["requests"] == len(ALL_ORDERS)
    assert sorted(stats["by_path"].values()) == [1] * len(ALL_ORDERS)
    assert all(counters["changed"] == 0 for counters in recap(first).values())

    second = play.run("roles/allocate.yml", extra_vars=allocate_vars(), inventory=inventory)
    assert second.rc == 0, second
    assert codes_by_host(second, FLEET) == codes


def test_a_host_keeps_its_code_once_redeemed(play, sim):
    inventory = write_inventory(play, FLEET)
    before = codes_by_host(play.run("roles/allocate.yml", extra_vars=allocate_vars(), inventory=inventory), FLEET)
    # web1 redeems its code in CertCentral for web1.example.com.
    # The simulator on 127.0.0.1, without any proxy.
    request = urllib.request.Request(  # noqa: S310
        f"{sim.base_url}/voucher/25260/download", headers={"X-DC-DEVKEY": sim.api_key, "Accept": "application/json"}
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
        codes = json.loads(answer.read())["codes"]
    for code in codes:
        if code["id"] == 49252:
            code.update(status="used", cert_common_name="web1.example.com", cert_request_date="2026-08-01 10:00:00")
    sim.set_order(25260, codes)

    after = codes_by_host(play.run("roles/allocate.yml", extra_vars=allocate_vars(), inventory=inventory), FLEET)
    assert after["web1"]["id"] == 49252 and after["web1"]["status"] == "used"
    assert {host: code["id"] for host, code in after.items()} == EXPECTED_IDS
    assert {host: after[host] for host in FLEET if host != "web1"} == {
        host: before[host] for host in FLEET if host != "web1"
    }


def test_serial_batches_never_share_a_code(play, sim):
    inventory = write_inventory(play, FLEET)
    run = play.run("roles/allocate.yml", extra_vars=allocate_vars(allocate_serial=2), inventory=inventory)
    assert run.rc == 0, run
    assert {host: code["id"] for host, code in codes_by_host(run, FLEET).items()} == EXPECTED_IDS
    # Each of the three batches reads the orders again, so codes redeemed meanwhile are seen as used.
    assert sim.stats()["requests"] == 3 * len(ALL_ORDERS)


def test_shortage_fails_before_any_code_is_given(play, sim):
    inventory = write_inventory(play, {"web1": "web1.example.com", "web2": "web2.example.com", "web3": "web3"})
    run = play.run(
        "roles/allocate.yml", extra_vars=allocate_vars([25261], "Secure Site Pro EV SSL"), inventory=inventory
    )
    assert run.rc != 0
    failure = run.failed("certops.digicert.voucher_allocate : Allocate one code to each host", "web1")
    assert (
        "voucher_allocate: 3 hosts need a Secure Site Pro EV SSL code but only 1 active code is left; 2 missing"
        in failure["msg"]
    )
    assert not [event for event in run.events if "voucher_allocate_code" in json.dumps(event["result"])]
    with pytest.raises(KeyError):
        run.events_of("Show the code")


def test_shared_common_names_can_be_refused(play, sim):
    inventory = write_inventory(play, {"www-a": "www.example.com", "www-b": "www.example.com"})
    run = play.run(
        "roles/allocate.yml", extra_vars=allocate_vars(voucher_allocate_share_common_names=False), inventory=inventory
    )
    assert run.rc != 0
    assert (
        "www-a, www-b (www.example.com)"
        in run.failed("certops.digicert.voucher_allocate : Allocate one code to each host", "www-a")["msg"]
    )


def test_allocation_common_name_defaults_to_the_inventory_name(play, sim):
    inventory = play.write("plain.ini", f"web1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    run = play.run("roles/allocate.yml", extra_vars=allocate_vars([25260]), inventory=inventory)
    assert run.rc == 0, run
    assert run.ok("Show the code", "web1")["voucher_allocate_code"]["status"] == "active"
