"""The digicert_voucher_codes action plugin: in-process on local connections, the module everywhere else.

Task, connection and play context are small stand-ins with the attributes ActionBase reads; the task itself
runs for real against the simulator.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import certops_unit_support as support
import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.certops.digicert.plugins.action import digicert_voucher_codes as action_plugin

from tests import documented_samples as samples


class Shell:
    tmpdir = None

    def env_prefix(self, **environment) -> str:
        return " ".join(f"{name}={value}" for name, value in environment.items())


class Templar:
    def template(self, value):
        return value


def make_action(args, transport="local", become=False, environment=None, check_mode=False, diff=False):
    task = SimpleNamespace(
        args=dict(args),
        environment=environment,
        check_mode=check_mode,
        diff=diff,
        async_val=0,
        action="certops.digicert.digicert_voucher_codes",
    )
    connection = SimpleNamespace(transport=transport, _shell=Shell())
    play_context = SimpleNamespace(become=become)
    # shared_loader_obj is required before ansible-core 2.19 and unused by this plugin.
    return action_plugin.ActionModule(
        task, connection, play_context, loader=None, templar=Templar(), shared_loader_obj=None
    )


@pytest.fixture
def no_module_run(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("the module was run instead of the in-process task")

    monkeypatch.setattr(action_plugin.ActionModule, "_execute_module", refuse)


@pytest.mark.usefixtures("no_module_run")
def test_local_connection_runs_the_task_in_process(digicert_sim):
    action = make_action(
        {"voucher_order_id": [25252], "api_key": digicert_sim.api_key, "api_url": digicert_sim.base_url}
    )
    result = action.run(task_vars={})
    assert result["codes"] == samples.TYPED_ORDER_25252
    assert result["changed"] is False
    assert result["voucher_order_ids"] == [25252]
    assert digicert_sim.stats()["requests"] == 1


@pytest.mark.usefixtures("no_module_run")
def test_the_tasks_environment_gives_key_and_url(digicert_sim):
    environment = [{"DIGICERT_API_KEY": digicert_sim.api_key}, {"DIGICERT_API_URL": digicert_sim.base_url}]
    result = make_action({"voucher_order_id": 25256}, environment=environment).run(task_vars={})
    assert result["codes"] == samples.TYPED_ORDER_25256


@pytest.mark.usefixtures("no_module_run")
def test_task_arguments_win_over_the_tasks_environment(digicert_sim):
    environment = [{"DIGICERT_API_KEY": "environment-key-wrong-00000000", "DIGICERT_API_URL": "http://127.0.0.1:9"}]
    args = {"voucher_order_id": 25252, "api_key": digicert_sim.api_key, "api_url": digicert_sim.base_url}
    assert make_action(args, environment=environment).run(task_vars={})["codes"] == samples.TYPED_ORDER_25252


@pytest.mark.usefixtures("no_module_run")
def test_failures_become_failed_results_without_the_key(digicert_sim):
    wrong = "action-wrong-key-77aa88bb99cc00dd"
    result = make_action({"voucher_order_id": 25252, "api_key": wrong, "api_url": digicert_sim.base_url}).run(
        task_vars={}
    )
    assert result["failed"] is True
    assert result["http_status"] == 403
    assert result["error_codes"] == ["access_denied|access_denied_invalid_key"]
    support.assert_no_key(repr(result), wrong)


@pytest.mark.usefixtures("no_module_run")
def test_check_mode_and_diff_reach_the_task(digicert_sim, tmp_path):
    dest = str(tmp_path / "codes.csv")
    args = {"voucher_order_id": 25252, "api_key": digicert_sim.api_key, "api_url": digicert_sim.base_url, "dest": dest}
    result = make_action(args, check_mode=True, diff=True).run(task_vars={})
    assert result["changed"] is True
    assert result["diff"]["after"] == samples.REPORT_25252
    assert not os.path.exists(dest)


@pytest.mark.usefixtures("no_module_run")
def test_verbosity_3_adds_the_request_log(digicert_sim, monkeypatch):
    monkeypatch.setattr(action_plugin.display, "verbosity", 3)
    monkeypatch.setattr(action_plugin.display, "vvv", lambda *args, **kwargs: None)
    args = {"voucher_order_id": 25252, "api_key": digicert_sim.api_key, "api_url": digicert_sim.base_url}
    result = make_action(args).run(task_vars={})
    assert len(result["request_log"]) == 1
    support.assert_no_key(repr(result), digicert_sim.api_key)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"voucher_order_id": 1, "voucher_orders": {}}, "mutually exclusive"),
        ({"api_key": "x"}, "one of the following is required"),
        ({"voucher_order_id": 1, "return_codes": "perhaps"}, "return_codes"),
    ],
)
@pytest.mark.usefixtures("no_module_run")
def test_invalid_arguments(args, message):
    with pytest.raises(AnsibleActionFail, match=message) as caught:
        make_action(args).run(task_vars={})
    assert str(caught.value).startswith("Invalid options for digicert_voucher_codes: ")


def test_unknown_argument_is_refused():
    with pytest.raises(
        AnsibleActionFail, match=r"Invalid options for certops\.digicert\.digicert_voucher_codes: colour"
    ):
        make_action({"voucher_order_id": 1, "colour": "red"}).run(task_vars={})


@pytest.mark.parametrize(("transport", "become"), [("ssh", False), ("local", True)])
def test_other_connections_and_become_run_the_module(monkeypatch, transport, become):
    calls = []

    def execute_module(self, *args, **kwargs):
        calls.append(kwargs)
        return {"changed": False, "ran": "module"}

    monkeypatch.setattr(action_plugin.ActionModule, "_execute_module", execute_module)
    result = make_action({"voucher_order_id": 1}, transport=transport, become=become).run(task_vars={"a": 1})
    assert result == {"changed": False, "ran": "module"}
    assert calls == [{"task_vars": {"a": 1}}]


def test_without_requests_the_module_runs(monkeypatch):
    monkeypatch.setattr(action_plugin, "REQUESTS_IMPORT_ERROR", "ModuleNotFoundError: no requests\n")
    monkeypatch.setattr(action_plugin.ActionModule, "_execute_module", lambda self, **kwargs: {"ran": "module"})
    assert make_action({"voucher_order_id": 1}).run(task_vars={}) == {"ran": "module"}
