# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: the one CSV writer for voucher code reports.

Nothing here is a public API; it may change in any release.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import TextIO

from ansible_collections.certops.digicert.plugins.module_utils._records import CODE_FIELDS, neutralize_formula

BYTE_ORDER_MARK = "\ufeff"


class CodesCsvWriter:
    """Write code records as RFC 4180 CSV: a header, one row per code, CRLF line ends.

    ``None`` becomes an empty cell and numbers stay bare numbers. With ``neutralize_formulas`` (the
    default) a text cell that a spreadsheet would run as a formula is written with a leading quote.
    """

    def __init__(
        self,
        stream: TextIO,
        columns: Sequence[str] = CODE_FIELDS,
        neutralize_formulas: bool = True,
        byte_order_mark: bool = False,
    ) -> None:
        if not columns:
            raise ValueError("a CSV report needs at least one column")
        self.columns = tuple(columns)
        self.neutralize_formulas = neutralize_formulas
        self.rows_written = 0
        if byte_order_mark:
            stream.write(BYTE_ORDER_MARK)
        self._writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._writer.writerow(self.columns)

    def _cell(self, value) -> object:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return neutralize_formula(value) if self.neutralize_formulas else value
        if isinstance(value, (dict, list)):
            # A structured field DigiCert may add later: JSON, as the CSV answer itself would carry it.
            return self._cell(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
        return value

    def write(self, code: dict) -> dict:
        cell = self._cell
        self._writer.writerow([cell(code.get(column)) for column in self.columns])
        self.rows_written += 1
        return code

    def write_all(self, codes: Iterable[dict]) -> int:
        for code in codes:
            self.write(code)
        return self.rows_written
