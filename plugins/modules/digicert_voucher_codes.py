#!/usr/bin/python
# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: digicert_voucher_codes
short_description: Fetch the codes of DigiCert voucher orders as typed facts or a CSV report
version_added: 0.1.0
description:
  - Reads the codes of one or more DigiCert CertCentral voucher orders through
    C(GET /services/v2/voucher/{voucher_order_id}/download) and returns them as normalized records.
  - Integer fields (C(id), C(no_of_fqdns), C(no_of_wildcards), C(validity_years), C(validity_days),
    C(voucher_order_id), C(certificate_order_id), C(server_licenses)) are returned as integers, whatever
    type DigiCert sent. Blank strings (DigiCert sends C(" ") for dates not set yet) are returned as
    V(null). Every other field is returned as DigiCert sent it, including fields DigiCert may add later.
  - Optionally writes the codes to O(dest) as CSV in DigiCert's column order.
  - Only reads from DigiCert; nothing is created or changed there.
author:
  - certops.digicert developers (@certops)
extends_documentation_fragment:
  - certops.digicert.connection
attributes:
  check_mode:
    support: full
    description: Fetches the codes and reports whether O(dest) would change, without writing it.
  diff_mode:
    support: full
    description: Shows the change to O(dest) for reports up to 256 KiB.
  action:
    support: full
    description:
      - When the task's connection is local (C(localhost), or delegation to C(localhost)) and no privilege
        escalation is asked for, the task runs inside the controller's worker process instead of as a
        separate module process, which returns large results several times faster. The result is the same.
  action_group:
    support: full
    description: Takes its connection options from C(module_defaults) for C(group/certops.digicert.digicert).
    membership:
      - certops.digicert.digicert
options:
  voucher_order_id:
    description:
      - One voucher order id or a list of them. Ids are positive whole numbers; every id is checked
        before any request is sent, and repeated ids are fetched once.
      - Codes are returned order by order, in the order given, each order's codes in DigiCert's order.
      - Exactly one of O(voucher_order_id) and O(voucher_orders) is required.
    type: list
    elements: raw
  voucher_orders:
    description:
      - Instead of naming ids, fetch the codes of every voucher order matching these filters, found
        through DigiCert's voucher order list (all pages), in DigiCert's listing order.
      - Keys are the filters of M(certops.digicert.digicert_voucher_orders_info), each one value or a
        list meaning any of them; C(status) (V(completed), V(canceled)), C(codes_status) (V(none),
        V(unused), V(partial), V(used)), C(product_name_id), C(name), C(created_date) and
        C(expiration_date) (V(2026-06-02) or V(2026-01-01...2026-06-30)).
      - An empty dictionary means every voucher order of the account.
    type: dict
  status:
    description:
      - Keep only codes whose status is one of these, for example V(active) (unused) or V(used).
        Compared without regard to case.
    type: list
    elements: str
  product_name:
    description:
      - Keep only codes for these products, by display name such as V(Basic OV). Compared without
        regard to case.
    type: list
    elements: str
  dest:
    description:
      - Write the codes (after O(status) and O(product_name) filtering) to this file as CSV.
      - The file has DigiCert's 21 columns in DigiCert's order, is UTF-8 with CRLF line ends (RFC 4180),
        and has empty cells where a value is V(null).
      - The file is replaced atomically, and only when its content or mode would change.
      - The directory must exist.
    type: path
  mode:
    description:
      - Permissions of O(dest), as an octal string. Voucher codes are bearer value, so the default
        lets only the owner read the file.
    type: raw
    default: '0600'
  columns:
    description:
      - Columns of O(dest), in this order. Defaults to DigiCert's 21 fields in DigiCert's order.
      - A column that a code does not have is written as an empty cell.
    type: list
    elements: str
  byte_order_mark:
    description:
      - Start O(dest) with a UTF-8 byte-order mark, which some spreadsheet programs need to show
        non-ASCII text correctly. Tools that re-import the file should strip it; this collection's
        readers do.
    type: bool
    default: false
  fields:
    description:
      - Return only these fields of each code in RV(codes), to keep large results small.
        O(dest) always gets the full O(columns).
    type: list
    elements: str
  return_codes:
    description:
      - Return the codes in RV(codes). Set to V(false) when only O(dest) and RV(summary) are needed;
        the codes are then streamed from DigiCert's CSV straight into O(dest) and never held in memory,
        which keeps very large orders fast and small.
    type: bool
    default: true
  expiring_within_days:
    description:
      - List in RV(summary.expiring) the unused (V(active)) codes whose voucher validity ends within
        this many days from today (or has ended already).
    type: int
  neutralize_formulas:
    description:
      - In O(dest), prefix text cells that a spreadsheet would run as a formula (starting with
        C(=), C(+), C(-), C(@), a tab or a carriage return) with a single quote, so they are shown as
        text. Numbers are never changed.
    type: bool
    default: true
notes:
  - DigiCert does not document pagination for this endpoint; all codes of an order come in one answer.
  - Several orders are fetched in parallel over one keep-alive connection pool, at most
    O(max_concurrent_requests) at a time; the codes still come back in the order of O(voucher_order_id).
  - With O(return_codes=false) and O(dest), codes are read from DigiCert's CSV format, in which every
    value is text; fields DigiCert adds in future are then written as text.
seealso:
  - plugin: certops.digicert.digicert_voucher_codes
    plugin_type: lookup
    description: The same codes from a lookup, cached once per run for inventories.
  - name: DigiCert API, list codes for voucher order
    description: DigiCert's documentation of the endpoint this module reads.
    link: https://dev.digicert.com/en/certcentral-apis/services-api/vouchers/list-codes-for-voucher-order.html
"""

EXAMPLES = r"""
- name: Fetch the codes of one voucher order (key from DIGICERT_API_KEY)
  certops.digicert.digicert_voucher_codes:
    voucher_order_id: 25252
  register: voucher

- name: Show the first code's common name
  ansible.builtin.debug:
    msg: "{{ voucher.codes[0].cert_common_name }}"

- name: Write the unused Basic OV codes of two orders to a private CSV report
  certops.digicert.digicert_voucher_codes:
    voucher_order_id: [25252, 25256]
    status: active
    product_name: Basic OV
    dest: /srv/reports/unused-basic-ov.csv

- name: Every unused code of every voucher order that still has some, without naming an id
  certops.digicert.digicert_voucher_codes:
    voucher_orders:
      status: completed
      codes_status: [unused, partial]
    status: active
    dest: /srv/reports/unused-codes.csv

- name: Report a very large order without bringing its codes back to the controller
  certops.digicert.digicert_voucher_codes:
    voucher_order_id: 31337
    dest: /srv/reports/order-31337.csv
    return_codes: false
    expiring_within_days: 30
  register: big_order

- name: Use the EU platform, with the connection set once for the whole play
  module_defaults:
    group/certops.digicert.digicert:
      platform: eu
      api_key: "{{ vault_digicert_api_key }}"
  block:
    - name: Fetch the codes
      certops.digicert.digicert_voucher_codes:
        voucher_order_id: 25256
      register: eu_codes
"""

RETURN = r"""
codes:
  description:
    - The normalized code records, in the order of O(voucher_order_id), then DigiCert's order.
    - Only the O(fields) of each code when O(fields) is set.
  returned: when O(return_codes=true)
  type: list
  elements: dict
  sample:
    - id: 49170
      value: ZVB3LWIH3H3U53AOZU5QZ4W4TUTRPPCS
      product_name: Basic OV
      no_of_fqdns: 5
      no_of_wildcards: 0
      shipping_method: N/A
      validity_years: 3
      validity_days: 0
      status: used
      created_date: "2022-03-03 13:31:03"
      voucher_order_id: 25252
      cert_request_date: "2022-03-03 13:41:41"
      cert_validity_start_date: null
      cert_validity_end_date: null
      cert_organization: Example Inc.
      cert_common_name: example.com
      certificate_order_id: 204928159
      voucher_validity_end_date: "2023-03-03"
      order_valid_from: null
      order_valid_till: null
      server_licenses: 1
count:
  description: Number of codes returned (after filtering).
  returned: always
  type: int
  sample: 1
summary:
  description: Counts of the returned codes.
  returned: always
  type: dict
  contains:
    total:
      description: Number of codes.
      type: int
    by_status:
      description: Codes per status.
      type: dict
      sample: {"used": 1}
    by_product:
      description: Codes per product name.
      type: dict
      sample: {"Basic OV": 1}
    expiring_within_days:
      description: The O(expiring_within_days) asked for.
      type: int
      returned: when O(expiring_within_days) is set
    expiring:
      description:
        - Unused codes whose voucher validity ends within O(expiring_within_days) days, soonest first,
          by id (never by value), with C(voucher_order_id), C(product_name), C(voucher_validity_end_date)
          and C(days_left).
      type: list
      elements: dict
      returned: when O(expiring_within_days) is set
voucher_order_ids:
  description:
    - The voucher order ids asked for, as integers, without repeats, or those found through
      O(voucher_orders).
  returned: always
  type: list
  elements: int
  sample: [25252]
dest:
  description: Path of the CSV report.
  returned: when O(dest) is set
  type: str
  sample: /srv/reports/codes.csv
request_log:
  description: One line per HTTP request (URL, status, time, retries), without secrets.
  returned: at verbosity C(-vvv) and higher
  type: list
  elements: str
http_status:
  description: HTTP status of the failed request, or V(null) when no answer arrived.
  returned: on failure
  type: int
  sample: 403
error_codes:
  description: DigiCert's error codes from the failed request.
  returned: on failure
  type: list
  elements: str
  sample: ["access_denied|access_denied_invalid_key"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.certops.digicert.plugins.module_utils._api import REQUESTS_IMPORT_ERROR
from ansible_collections.certops.digicert.plugins.module_utils._codes_task import (
    CODES_ORDER_SOURCES,
    TaskFailed,
    VoucherCodesTask,
    codes_argument_spec,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=codes_argument_spec(),
        mutually_exclusive=CODES_ORDER_SOURCES,
        required_one_of=CODES_ORDER_SOURCES,
        supports_check_mode=True,
    )
    if REQUESTS_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    try:
        task = VoucherCodesTask(module.params, module.check_mode, module._diff, module._verbosity)
        result = task.execute()
    except TaskFailed as failure:
        module.fail_json(msg=failure.msg, **failure.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
