# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run digicert_voucher_codes in the controller's worker when the task's host is the controller.

A module's result travels as JSON through AnsiballZ, a no_log scrub that copies it and the
controller's decoder; for 50,000 codes that costs seconds. When the connection is local and no
privilege escalation is asked for, running the same task code in-process gives the same result
without that round trip. Any other case runs the module as usual.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.certops.digicert.plugins.module_utils._api import REQUESTS_IMPORT_ERROR
from ansible_collections.certops.digicert.plugins.module_utils._codes_task import (
    CODES_ORDER_SOURCES,
    TaskFailed,
    VoucherCodesTask,
    codes_argument_spec,
)

display = Display()
# Options whose module fallback reads the environment; in-process, the task's `environment:` must win.
_ENVIRONMENT_FALLBACKS = {"api_key": "DIGICERT_API_KEY", "api_url": "DIGICERT_API_URL"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(codes_argument_spec())

    def _runs_in_process(self) -> bool:
        return (
            getattr(self._connection, "transport", None) == "local"
            and not self._play_context.become
            and REQUESTS_IMPORT_ERROR is None
        )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if not self._runs_in_process():
            result.update(self._execute_module(task_vars=task_vars))
            return result

        task_environment: dict = {}
        self._compute_environment_string(raw_environment_out=task_environment)
        args = dict(self._task.args)
        for option, variable in _ENVIRONMENT_FALLBACKS.items():
            # Present but empty counts too: the module would see the empty value and not the controller's.
            if args.get(option) is None and variable in task_environment:
                args[option] = task_environment[variable]
        validation = ArgumentSpecValidator(
            codes_argument_spec(), mutually_exclusive=CODES_ORDER_SOURCES, required_one_of=CODES_ORDER_SOURCES
        ).validate(args)
        if validation.error_messages:
            raise AnsibleActionFail(f"Invalid options for digicert_voucher_codes: {validation.error_messages[0]}")

        display.vvv("certops.digicert.digicert_voucher_codes: running in the controller's worker")
        try:
            task = VoucherCodesTask(
                validation.validated_parameters,
                check_mode=bool(self._task.check_mode),
                diff=bool(self._task.diff),
                verbosity=display.verbosity,
            )
            result.update(task.execute())
        except TaskFailed as failure:
            result.update(failed=True, msg=failure.msg, **failure.details)
        return result
