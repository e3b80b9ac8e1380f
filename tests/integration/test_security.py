"""The API key never leaves the API host: every path of the module and the lookup at -vvvv, with a fake key.

Each run goes through every failure path (wrong key, unknown order, bad id, unreachable, timeout, 429 exhausted,
5xx HTML, truncated JSON, several errors, a body over the size cap, unwritable destinations, a reset) and the
success paths, against:

- a simulator that accepts the fake key (faults queued per order),
- the session simulator, which does not know the key ("wrong key"),
- a hostile server of our own on 127.0.0.1 that echoes the key it receives into error bodies, HTML pages, code
  records, a CSV and a redirect to a second local "collector" server.

The key is given in DIGICERT_API_KEY, or in a vars file (module_defaults for the module, ``digicert_api_key`` for
the lookup). Afterwards the key must appear in no stdout/stderr, in no file under the test's tmp_path (reports,
lookup cache, Ansible's log file, HOME with Ansible's temporary folders), and must have been sent to no host but
the API hosts named by api_url: the collector gets nothing, and the proxy trap (conftest) gets nothing.
"""

from __future__ import annotations

import json
import re

import pytest

from tests import documented_samples as samples

LEAK_KEY = "leakcheck-7f3a9c2e5b1d4086a9f3c7e2b5d1a408"
REDACTED = "********"
SIM_FAULTS = [
    (7001, "delay:3"),
    (7002, "status:429"),
    (7003, "status:502"),
    (7004, "status:500"),
    (7005, "truncated"),
    (7006, "multi_error"),
    (7007, "huge:300"),
    (7008, "reset"),
    (7009, "html"),
    (7010, "bad_integer"),
]
# Tasks of playbooks/security/*_tasks.yml that must succeed; every other task must fail.
MODULE_SUCCESSES = {"success report", "success streamed report"}
LOOKUP_SUCCESSES = {"success", "success from the cache"}
# Hostile answers whose message shows what the server said: the key must be there, masked.
REDACTED_ECHOES = {"hostile 403 echo", "hostile 500 html echo", "hostile 429 echo", "hostile 404 text echo"}


def html(title, text):
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"


def hostile(collector_url):
    """Answers that echo the received key back, by voucher order id."""

    def respond(request):
        key = request.headers.get("X-DC-DEVKEY", "")
        found = re.search(r"/voucher/([0-9]+)/download", request.path)
        order = int(found.group(1)) if found else 0
        as_json = [("Content-Type", "application/json")]
        as_html = [("Content-Type", "text/html; charset=utf-8")]
        if order == 1:
            errors = [{"code": f"access_denied|{key}", "message": f"The key {key} is not valid."}]
            return 403, as_json, json.dumps({"errors": errors}).encode()
        if order == 2:
            return 500, as_html, html(f"Error for {key}", f"Your key {key} broke us").encode()
        if order == 3:
            return 200, as_html, html("Maintenance", f"Come back later, {key}").encode()
        if order == 4:
            return 302, [("Location", f"{collector_url}/collect?key={key}")], b""
        if order == 5:
            return 200, as_json, json.dumps({"codes": key}).encode()
        if order == 6:
            return 200, as_json, json.dumps({"codes": [dict(samples.JSON_SAMPLE_49170, id=key)]}).encode()
        if order == 7:
            errors = [{"code": "request_limit_exceeded", "message": f"Slow down, {key}"}]
            return 429, [*as_json, ("Retry-After", "0")], json.dumps({"errors": errors}).encode()
        if order == 8:
            return 200, [("Content-Type", "text/csv")], f"id,value\n{key},{key},{key}\n".encode()
        if order == 9:
            return 404, [("Content-Type", "text/plain")], f"nothing here for {key}".encode()
        if order == 10:
            # The key starts 100 characters in: a message that quotes only the start of the body cuts it in two.
            return 404, [("Content-Type", "text/plain")], ("x" * 99 + " " + key + " and more text").encode()
        return 404, as_json, b'{"errors":[{"code":"not_found","message":"Not found."}]}'

    return respond


@pytest.fixture(scope="module")
def key_sim(tmp_path_factory):
    """A simulator that accepts LEAK_KEY, logging its requests (without the key) into a folder we scan."""
    from tests.simulator.control import SimulatorProcess

    log = tmp_path_factory.mktemp("key-sim") / "requests.jsonl"
    with SimulatorProcess(api_key=LEAK_KEY, request_log=log) as process:
        process.log_path = log
        yield process


@pytest.fixture
def setup(runner, key_sim, simulator, loopback_server, closed_url, out, tmp_path, tmp_path_factory):
    key_sim.reset(orders=True)
    key_sim.add_faults([{"order": order, "kind": kind, "times": 0} for order, kind in SIM_FAULTS])
    collector = loopback_server(lambda request: (200, [("Content-Type", "text/plain")], b"thanks\n"))
    hostile_server = loopback_server(hostile(collector.url))
    # The key file lives outside tmp_path, so that everything under tmp_path must be free of the key.
    key_file = tmp_path_factory.mktemp("secret") / "digicert.yml"
    key_file.write_text(f"digicert_api_key: {LEAK_KEY}\n", encoding="utf-8")
    runner.env.update(DIGICERT_API_URL=key_sim.base_url, ANSIBLE_LOG_PATH=str(tmp_path / "ansible.log"))
    extra_vars = {
        "out": str(out),
        "wrong_key_url": simulator.base_url,
        "closed_url": closed_url,
        "hostile_url": hostile_server.url + "/services/v2",
        "key_file": str(key_file),
    }
    return {"collector": collector, "hostile": hostile_server, "extra_vars": extra_vars, "out": out}


def check_run(run, successes):
    assert run.rc == 0, run
    tasks = {event["task"] for event in run.events}
    assert successes <= tasks and len(tasks) > 20, sorted(tasks)
    for task in sorted(tasks):
        if task in successes:
            run.ok(task)
        else:
            run.failed(task)
    for task in REDACTED_ECHOES:
        assert REDACTED in run.result(task)["msg"], (task, run.result(task)["msg"])
    assert "Traceback" not in run.output


def check_no_leak(run, setup, tmp_path, key_sim, file_tools):
    assert LEAK_KEY not in run.stdout
    assert LEAK_KEY not in run.stderr
    assert (tmp_path / "ansible.log").stat().st_size > 0
    scanned = [*file_tools.files_under(tmp_path), key_sim.log_path]
    assert len(scanned) > 5
    file_tools.assert_not_in_files(LEAK_KEY, scanned)
    # The hostile server did get the key (it is the configured API host), so the echoes above were real ...
    assert any(request.headers.get("X-DC-DEVKEY") == LEAK_KEY for request in setup["hostile"].seen())
    # ... but the redirect it answered with was not followed anywhere.
    assert setup["collector"].seen() == []


@pytest.mark.parametrize(
    ("playbook", "via_module"),
    [("security/module_env.yml", False), ("security/module_vars.yml", True)],
    ids=["env-in-process", "vars-module_defaults-module"],
)
def test_module_never_shows_the_key(runner, setup, tmp_path, key_sim, file_tools, playbook, via_module):
    key_source = {"env": {"DIGICERT_API_KEY": LEAK_KEY}} if "env" in playbook else {"unset": ["DIGICERT_API_KEY"]}
    run = runner.run(playbook, extra_vars={**setup["extra_vars"], "via_module": via_module}, verbosity=4, **key_source)
    check_run(run, MODULE_SUCCESSES)
    assert run.ok("success report")["count"] == 3
    assert (setup["out"] / "report.csv").exists() and (setup["out"] / "streamed.csv").exists()
    assert "redirect" in run.failed("hostile redirect")["msg"]
    check_no_leak(run, setup, tmp_path, key_sim, file_tools)


@pytest.mark.parametrize("playbook", ["security/lookup_env.yml", "security/lookup_vars.yml"], ids=["env", "vars"])
def test_lookup_never_shows_the_key(runner, setup, tmp_path, key_sim, file_tools, playbook):
    key_source = {"env": {"DIGICERT_API_KEY": LEAK_KEY}} if "env" in playbook else {"unset": ["DIGICERT_API_KEY"]}
    run = runner.run(playbook, extra_vars=setup["extra_vars"], verbosity=4, **key_source)
    check_run(run, LOOKUP_SUCCESSES)
    assert run.ok("success")["msg"] == [49170, 49178, 49179]
    assert any(runner.cache_dir.iterdir()), "the lookup cached nothing"
    assert "redirect" in run.failed("hostile redirect")["msg"]
    check_no_leak(run, setup, tmp_path, key_sim, file_tools)


def fragments(text, size=12):
    """Every piece of LEAK_KEY of SIZE characters that occurs in TEXT."""
    return sorted({LEAK_KEY[i : i + size] for i in range(len(LEAK_KEY) - size + 1)} & _pieces(text, size))


def _pieces(text, size):
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def test_no_piece_of_the_key_in_quoted_bodies(runner, setup, key_sim):
    run = runner.run(
        "security/key_fragment.yml",
        extra_vars=setup["extra_vars"],
        env={"DIGICERT_API_KEY": LEAK_KEY},
        verbosity=4,
    )
    assert run.rc == 0, run
    for task in ("module snippet", "lookup snippet"):
        assert "HTTP 404" in run.failed(task)["msg"]
    assert fragments(run.output) == []


@pytest.mark.parametrize("via_module", [False, True], ids=["in-process", "module"])
def test_inline_key_is_shown_only_by_ansible_quoting_the_task(runner, setup, key_sim, via_module):
    """Finding, not a requirement of ours: when a task whose arguments contain the key fails, ansible-core quotes
    the task's source lines in its error report, key included. What the collection controls (messages, results)
    stays clean; docs/faults.md tells users to keep the key out of task arguments.
    """
    run = runner.run(
        "security/inline_key.yml",
        extra_vars={**setup["extra_vars"], "via_module": via_module},
        unset=["DIGICERT_API_KEY"],
        verbosity=4,
    )
    assert run.rc == 0, run
    run.ok("module inline key success")
    for task in ("module inline key", "module inline key bad id", "lookup inline key"):
        result = run.failed(task)
        assert LEAK_KEY not in json.dumps(result), task
    assert REDACTED in run.result("module inline key")["msg"]
    assert REDACTED in run.result("lookup inline key")["msg"]
    events = "\n".join(json.dumps(event) for event in run.events)
    assert LEAK_KEY not in events
    showing = [line for line in run.output.splitlines() if LEAK_KEY in line]
    quoted_source = re.compile(r"\s*[0-9]+\s+api_key: " + re.escape(LEAK_KEY))
    print("\nlines showing the inline key:\n" + "\n".join(showing))
    assert all(quoted_source.fullmatch(line) for line in showing), showing
    assert len(showing) <= 2  # one quoted source line per failed module task with the key inline
