#!/usr/bin/python
# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: digicert_voucher_orders_info
short_description: Find DigiCert voucher orders by status, product, dates or name
version_added: 0.1.0
description:
  - Lists the voucher orders of a DigiCert CertCentral account through C(GET /services/v2/voucher), with
    DigiCert's filters and sort order, following every page of the list.
  - Answers questions such as "which voucher orders still have unused codes?" without knowing any
    voucher order id.
  - With O(include_codes=true), also fetches the codes of every order found, so one task can return
    every code of every matching order.
  - Order records are typed like the code records of M(certops.digicert.digicert_voucher_codes).
    C(id), C(codes_count) and C(codes_used_count) are returned as integers whatever type DigiCert sent, blank
    strings as V(null), and every other field as DigiCert sent it.
  - Only reads from DigiCert; nothing is created or changed there.
author:
  - certops.digicert developers (@certops)
extends_documentation_fragment:
  - certops.digicert.connection
attributes:
  check_mode:
    support: full
    description: The module only reads, so it does the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  action_group:
    support: full
    description: Takes its connection options from C(module_defaults) for C(group/certops.digicert.digicert).
    membership:
      - certops.digicert.digicert
options:
  status:
    description:
      - Keep only voucher orders with one of these order statuses.
    type: list
    elements: str
    choices: [completed, canceled]
  codes_status:
    description:
      - Keep only voucher orders whose codes are in one of these states, as DigiCert computes it for the
        whole order. V(none) means the order has no codes, V(unused) that none of its codes is used,
        V(partial) that some are used, V(used) that all are.
      - For orders that still have codes to hand out, use V([unused, partial]).
    type: list
    elements: str
    choices: [none, unused, partial, used]
  product_name_id:
    description:
      - Keep only voucher orders for one of these products, by DigiCert's product identifier such as
        V(ssl_basic) (Basic OV) or V(ssl_ev_securesite_pro), not by display name.
    type: list
    elements: str
  name:
    description:
      - Keep only voucher orders whose name matches this text, as DigiCert's C(name) filter matches it.
    type: str
  created_date:
    description:
      - Keep only voucher orders created on this day (V(2026-06-02)) or within this inclusive range of days
        (V(2026-01-01...2026-06-30)).
    type: str
  expiration_date:
    description:
      - Keep only voucher orders that expire on this day or within this inclusive range of days, written
        like O(created_date).
    type: str
  sort:
    description:
      - Order of the returned voucher orders, by a field of the order record such as V(created_date), with
        a leading C(-) for descending (V(-created_date)); several fields separated by commas.
      - When not set, DigiCert's default order is used.
    type: str
  include_codes:
    description:
      - Also fetch the codes of each voucher order found, into its C(codes) field. The orders are fetched
        in parallel, at most O(max_concurrent_requests) at a time, within DigiCert's rate limits.
    type: bool
    default: false
  page_size:
    description:
      - Voucher orders asked for per request (DigiCert's C(limit)), between 1 and 1000.
    type: int
    default: 1000
  max_pages:
    description:
      - Most pages read per listing. When the list has more, the task fails instead of returning part
        of it; this also stops a server that never ends its list.
    type: int
    default: 100
notes:
  - Several values of one filter mean any of them. DigiCert takes one value per filter, so the list is read
    once per value (once per combination with several such filters, at most 32 combinations), and the
    orders come listing by listing, each in O(sort) order. An order found twice is returned once.
  - If a page comes back empty before the announced end of the list (orders removed while the list was
    read), the module stops there and warns that the result may be incomplete.
seealso:
  - module: certops.digicert.digicert_voucher_codes
    description: Fetch the codes of voucher orders by id, with filters and a CSV report.
  - plugin: certops.digicert.voucher_codes_from_csv
    plugin_type: filter
    description: The same code records from a CSV file downloaded from CertCentral.
"""

EXAMPLES = r"""
- name: Find the voucher orders that still have codes to hand out
  certops.digicert.digicert_voucher_orders_info:
    codes_status: [unused, partial]
    status: completed
  register: open_orders

- name: Show their ids
  ansible.builtin.debug:
    msg: "{{ open_orders.voucher_orders | map(attribute='id') }}"

- name: Every code of every Basic OV voucher order created in 2026, newest order first
  certops.digicert.digicert_voucher_orders_info:
    product_name_id: ssl_basic
    created_date: 2026-01-01...2026-12-31
    sort: -created_date
    include_codes: true
  register: basic_ov

- name: List every unused code across all voucher orders
  ansible.builtin.debug:
    msg: >-
      {{ basic_ov.voucher_orders | map(attribute='codes') | flatten
         | selectattr('status', 'equalto', 'active') | map(attribute='value') }}

- name: Hand the ids to the codes module for a CSV report
  certops.digicert.digicert_voucher_codes:
    voucher_order_id: "{{ open_orders.voucher_order_ids }}"
    status: active
    dest: /srv/reports/unused-codes.csv
  when: open_orders.count > 0
"""

RETURN = r"""
voucher_orders:
  description:
    - The voucher orders found, with DigiCert's fields, typed as described above.
    - With O(include_codes=true), each also has C(codes), the normalized code records of
      M(certops.digicert.digicert_voucher_codes).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Voucher order id.
      type: int
    name:
      description: Name of the voucher order.
      type: str
    status:
      description: Order status, such as V(completed) or V(canceled).
      type: str
    codes_status:
      description: State of the order's codes, V(none), V(unused), V(partial) or V(used).
      type: str
    codes:
      description: The order's codes, normalized.
      type: list
      elements: dict
      returned: when O(include_codes=true)
  sample:
    - id: 25260
      name: Web team vouchers
      status: completed
      product_name: Basic OV
      product_name_id: ssl_basic
      products:
        - name: Basic OV
          name_id: ssl_basic
      created_date: "2026-06-02 09:14:27"
      expiration_date: "2029-06-02"
      codes_count: 6
      codes_used_count: 0
      codes_status: unused
voucher_order_ids:
  description: The ids of RV(voucher_orders), in the same order.
  returned: always
  type: list
  elements: int
  sample: [25260, 25261]
count:
  description: Number of voucher orders found.
  returned: always
  type: int
  sample: 2
request_log:
  description: One line per HTTP request and per page read (URL, status, time, retries), without secrets.
  returned: at verbosity C(-vvv) and higher
  type: list
  elements: str
http_status:
  description: HTTP status of the failed request, or V(null) when no answer arrived.
  returned: on failure
  type: int
  sample: 400
error_codes:
  description: DigiCert's error codes from the failed request.
  returned: on failure
  type: list
  elements: str
  sample: ["invalid_filter|codes_status"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.certops.digicert.plugins.module_utils._api import (
    REQUESTS_IMPORT_ERROR,
    ConnectionSettings,
    DigiCertAPIError,
    DigiCertClient,
)
from ansible_collections.certops.digicert.plugins.module_utils._options import connection_argument_spec
from ansible_collections.certops.digicert.plugins.module_utils._orders import (
    CODES_STATUSES,
    DEFAULT_MAX_PAGES,
    MAX_PAGE_SIZE,
    ORDER_FILTER_NAMES,
    ORDER_STATUSES,
    attach_codes,
    build_order_filters,
    check_paging,
    check_sort,
    iter_voucher_orders,
)


def argument_spec() -> dict:
    spec = connection_argument_spec()
    spec.update(
        status={"type": "list", "elements": "str", "choices": list(ORDER_STATUSES)},
        codes_status={"type": "list", "elements": "str", "choices": list(CODES_STATUSES)},
        product_name_id={"type": "list", "elements": "str"},
        name={"type": "str"},
        created_date={"type": "str"},
        expiration_date={"type": "str"},
        sort={"type": "str"},
        include_codes={"type": "bool", "default": False},
        page_size={"type": "int", "default": MAX_PAGE_SIZE},
        max_pages={"type": "int", "default": DEFAULT_MAX_PAGES},
    )
    return spec


def run_module(module: AnsibleModule) -> dict:
    params = module.params
    request_log: list[str] = []

    def fail(msg: str, **details) -> None:
        if module._verbosity >= 3:
            details["request_log"] = request_log
        module.fail_json(msg=msg, **details)

    try:
        filters = build_order_filters({name: params[name] for name in ORDER_FILTER_NAMES})
        sort = check_sort(params["sort"])
        check_paging(params["page_size"], params["max_pages"])
        settings = ConnectionSettings.from_options(params.get)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    with DigiCertClient(settings, log=request_log.append) as client:
        try:
            orders = list(
                iter_voucher_orders(
                    client,
                    filters,
                    sort,
                    page_size=params["page_size"],
                    max_pages=params["max_pages"],
                    warn=module.warn,
                )
            )
            if params["include_codes"]:
                attach_codes(client, orders)
        except DigiCertAPIError as exc:
            fail(exc.message, **exc.as_result())

    result = {
        "changed": False,
        "voucher_orders": orders,
        "voucher_order_ids": [order["id"] for order in orders],
        "count": len(orders),
    }
    if module._verbosity >= 3:
        result["request_log"] = request_log
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if REQUESTS_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
