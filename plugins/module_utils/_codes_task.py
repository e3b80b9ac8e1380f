# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: the digicert_voucher_codes task, shared by its module and action plugin.

The module runs it on the managed host; the action plugin runs it inside the controller's worker
when the task's connection is local, which spares large results the module round trip.
Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

from ansible_collections.certops.digicert.plugins.module_utils._api import (
    ConnectionSettings,
    DigiCertAPIError,
    DigiCertClient,
)
from ansible_collections.certops.digicert.plugins.module_utils._csv_report import CodesCsvWriter
from ansible_collections.certops.digicert.plugins.module_utils._files import (
    FileWriteError,
    parse_mode,
    replace_text_file,
)
from ansible_collections.certops.digicert.plugins.module_utils._options import connection_argument_spec
from ansible_collections.certops.digicert.plugins.module_utils._orders import (
    build_order_filters,
    matching_voucher_order_ids,
)
from ansible_collections.certops.digicert.plugins.module_utils._records import (
    CODE_FIELDS,
    CodeSummary,
    filter_codes,
    parse_voucher_order_ids,
)


class TaskFailed(Exception):
    """A failure to report as the task's ``msg``, with extra result fields."""

    def __init__(self, msg: str, **details) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


def codes_argument_spec() -> dict:
    spec = connection_argument_spec()
    spec.update(
        voucher_order_id={"type": "list", "elements": "raw"},
        voucher_orders={"type": "dict"},
        status={"type": "list", "elements": "str"},
        product_name={"type": "list", "elements": "str"},
        dest={"type": "path"},
        mode={"type": "raw", "default": "0600"},
        columns={"type": "list", "elements": "str"},
        byte_order_mark={"type": "bool", "default": False},
        fields={"type": "list", "elements": "str"},
        return_codes={"type": "bool", "default": True},
        expiring_within_days={"type": "int"},
        neutralize_formulas={"type": "bool", "default": True},
    )
    return spec


# Either ids or filters that find the ids; the module and the action plugin both enforce this.
CODES_ORDER_SOURCES = [["voucher_order_id", "voucher_orders"]]


def _checked_names(names: list[str] | None, option_name: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    cleaned = tuple(name.strip() for name in names)
    if not cleaned or "" in cleaned:
        raise ValueError(f"{option_name} must name at least one field, and no empty names")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"{option_name} names a field twice")
    return cleaned


class VoucherCodesTask:
    """One task: validated options, one client, the codes, and the report."""

    def __init__(self, params: dict, check_mode: bool = False, diff: bool = False, verbosity: int = 0) -> None:
        self.check_mode = check_mode
        self.diff = diff
        self.verbosity = verbosity
        try:
            if params.get("voucher_orders") is not None:
                self.order_ids = None
                self.order_filters = build_order_filters(params["voucher_orders"], option_prefix="voucher_orders.")
            else:
                self.order_ids = parse_voucher_order_ids(params["voucher_order_id"])
            if params["dest"] is not None and not params["dest"].strip():
                raise ValueError("dest is empty: give the path of the CSV report, or leave dest out")
            self.mode = parse_mode(params["mode"]) if params["dest"] else None
            self.columns = _checked_names(params["columns"], "columns") or CODE_FIELDS
            self.fields = _checked_names(params["fields"], "fields")
            self.settings = ConnectionSettings.from_options(params.get)
        except ValueError as exc:
            raise TaskFailed(str(exc)) from None
        self.params = params
        self.request_log: list[str] = []
        self.summary = CodeSummary(params["expiring_within_days"])

    def _wanted(self, codes):
        return filter_codes(codes, self.params["status"], self.params["product_name"])

    def _writer(self, stream) -> CodesCsvWriter:
        return CodesCsvWriter(
            stream,
            columns=self.columns,
            neutralize_formulas=self.params["neutralize_formulas"],
            byte_order_mark=self.params["byte_order_mark"],
        )

    def execute(self) -> dict:
        params = self.params
        result = {"changed": False}
        streaming = params["dest"] and not params["return_codes"]
        with DigiCertClient(self.settings, log=self.request_log.append) as client:
            try:
                if self.order_ids is None:
                    self.order_ids = matching_voucher_order_ids(client, self.order_filters)
                result["voucher_order_ids"] = self.order_ids
                if streaming:
                    codes = None
                    self._write_report(result, lambda stream: self._stream_report(client, stream))
                else:
                    codes = [
                        self.summary.add(code)
                        for order_codes in client.fetch_codes_of_orders(self.order_ids)
                        for code in self._wanted(order_codes)
                    ]
                    if params["dest"]:
                        self._write_report(result, lambda stream: self._writer(stream).write_all(codes))
            except DigiCertAPIError as exc:
                self._fail(exc.message, **exc.as_result())
        result["count"] = self.summary.total
        result["summary"] = self.summary.as_dict()
        if params["return_codes"]:
            result["codes"] = self._project(codes)
        if self.verbosity >= 3:
            result["request_log"] = self.request_log
        return result

    def _stream_report(self, client: DigiCertClient, stream) -> None:
        writer = self._writer(stream)
        for order_id in self.order_ids:
            for code in self._wanted(client.iter_codes_csv(order_id)):
                writer.write(self.summary.add(code))

    def _write_report(self, result: dict, render) -> None:
        dest = self.params["dest"]
        result["dest"] = dest
        try:
            written = replace_text_file(dest, render, self.mode, self.check_mode, self.diff)
        except (FileWriteError, OSError) as exc:
            self._fail(f"cannot write the report: {exc}", dest=dest)
        result["changed"] = written.changed
        if written.diff:
            result["diff"] = written.diff

    def _project(self, codes: list[dict]) -> list[dict]:
        if not self.fields:
            return codes
        if codes:
            unknown = [field for field in self.fields if field not in codes[0] and field not in CODE_FIELDS]
            if unknown:
                self._fail(f"fields: {', '.join(unknown)} not a field of DigiCert voucher codes")
        return [{field: code.get(field) for field in self.fields} for code in codes]

    def _fail(self, msg: str, **details) -> None:
        if self.verbosity >= 3:
            details["request_log"] = self.request_log
        raise TaskFailed(msg, **details)
