# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: voucher_codes_from_csv
short_description: Voucher code records from the text of a CertCentral CSV download
version_added: 0.1.0
description:
  - Reads the text of a voucher code list downloaded as CSV from the DigiCert CertCentral web interface
    (or written by M(certops.digicert.digicert_voucher_codes)) and returns one record per code.
  - The records are the ones M(certops.digicert.digicert_voucher_codes) returns for the same codes. Integer
    fields (C(id), C(no_of_fqdns), C(no_of_wildcards), C(validity_years), C(validity_days),
    C(voucher_order_id), C(certificate_order_id), C(server_licenses)) become integers, blank cells (DigiCert
    writes C(" ") for dates not set yet) become V(null), and every other cell is kept as text.
  - A UTF-8 byte-order mark at the start, as spreadsheet programs add, is ignored.
  - Needs no API key and no network access.
author:
  - certops.digicert developers (@certops)
options:
  _input:
    description:
      - The CSV text, for example from the P(ansible.builtin.file#lookup) lookup or the decoded content of
        M(ansible.builtin.slurp). Its header row must name at least the C(id) and C(value) columns.
    type: string
    required: true
  restore_formulas:
    description:
      - Undo the protection against spreadsheet formulas that M(certops.digicert.digicert_voucher_codes)
        adds to its CSV reports with O(certops.digicert.digicert_voucher_codes#module:neutralize_formulas).
        Cells it prefixed with a single quote get their original text back.
      - Leave it off for files downloaded from CertCentral, which carry no such prefix.
    type: bool
    default: false
notes:
  - Columns are taken by the names in the header row, in any order; columns other than DigiCert's are kept
    as text.
seealso:
  - module: certops.digicert.digicert_voucher_codes
    description: The same records from the DigiCert API, and CSV reports.
  - module: certops.digicert.digicert_voucher_orders_info
    description: Find voucher orders and their codes through the DigiCert API.
"""

EXAMPLES = r"""
- name: Read a CSV file downloaded from CertCentral, on the controller
  ansible.builtin.set_fact:
    voucher_codes: >-
      {{ lookup('ansible.builtin.file', 'files/voucher-25256.csv') | certops.digicert.voucher_codes_from_csv }}

- name: Show the unused codes
  ansible.builtin.debug:
    msg: "{{ voucher_codes | selectattr('status', 'equalto', 'active') | map(attribute='value') }}"

- name: Read a CSV file that lives on a managed host
  ansible.builtin.slurp:
    src: /srv/downloads/voucher-25256.csv
  register: downloaded

- name: Parse it
  ansible.builtin.set_fact:
    voucher_codes: "{{ downloaded.content | b64decode | certops.digicert.voucher_codes_from_csv }}"

- name: Read back a report written by certops.digicert.digicert_voucher_codes, with formula protection undone
  ansible.builtin.set_fact:
    report_codes: >-
      {{ lookup('ansible.builtin.file', '/srv/reports/codes.csv')
         | certops.digicert.voucher_codes_from_csv(restore_formulas=true) }}
"""

RETURN = r"""
_value:
  description: One record per CSV row, in the file's order, with the columns of the header row.
  type: list
  elements: dict
  sample:
    - id: 49178
      value: ZGGRW6GCJIWCR2XHAU4M6TNNBAURHLJM
      product_name: Basic OV
      no_of_fqdns: 5
      no_of_wildcards: 0
      shipping_method: N/A
      validity_years: 3
      validity_days: 0
      status: used
      created_date: "2022-03-03 14:43:28"
      voucher_order_id: 25256
      cert_request_date: "2022-03-04 10:48:47"
      cert_validity_start_date: null
      cert_validity_end_date: null
      cert_organization: Example Inc.
      cert_common_name: example.com
      certificate_order_id: 204928160
      voucher_validity_end_date: "2023-03-03"
      order_valid_from: null
      order_valid_till: null
      server_licenses: 1
"""

import io

from ansible.errors import AnsibleFilterError
from ansible_collections.certops.digicert.plugins.module_utils._records import RecordError, iter_codes_from_csv


def voucher_codes_from_csv(text, restore_formulas=False):
    """Parse CertCentral CSV text into normalized voucher code records."""
    if not isinstance(text, str):
        raise AnsibleFilterError(
            f"voucher_codes_from_csv expects the CSV text as a string, not {type(text).__name__}; "
            "read files with the ansible.builtin.file lookup, or b64decode the content of ansible.builtin.slurp"
        )
    if not isinstance(restore_formulas, bool):
        raise AnsibleFilterError(
            f"voucher_codes_from_csv: restore_formulas must be true or false, not {restore_formulas!r}"
        )
    # newline="" hands every line ending to the CSV reader untouched, so line breaks inside quoted cells survive.
    lines = io.StringIO(text, newline="")
    try:
        return list(iter_codes_from_csv(lines, restore_formulas=restore_formulas))
    except RecordError as exc:
        raise AnsibleFilterError(f"voucher_codes_from_csv: this is not a DigiCert voucher code CSV: {exc}") from None


class FilterModule:
    def filters(self):
        return {"voucher_codes_from_csv": voucher_codes_from_csv}
