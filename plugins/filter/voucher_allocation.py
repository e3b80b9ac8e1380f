# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: voucher_allocation
short_description: Give each host one voucher code of a product, the same one on every run
version_added: 0.1.0
author:
  - certops.digicert developers (@certops)
description:
  - Takes the code records of one or more voucher orders (as M(certops.digicert.digicert_voucher_codes)
    returns them in RV(certops.digicert.digicert_voucher_codes#module:codes)) and a mapping of host to
    certificate common name, and returns a mapping of host to the code record that host should use.
  - A host whose common name is on a used code of the product keeps that code, so the answer does not
    change once the code has been redeemed. When several used codes carry the name, the one requested
    last (C(cert_request_date), then the highest C(id)) is kept.
  - Every other host gets an active code that no other host gets. Codes whose voucher validity ended
    before today, and the codes in O(taken), are never handed out.
  - Hosts with the same common name (compared without case and without a trailing dot) are one
    certificate and get the same code; set O(share_common_names=false) to fail instead.
  - If there are fewer free active codes than hosts that need one, the filter fails and assigns
    nothing; the message names the product and how many codes are missing.
  - This is the allocation the role C(certops.digicert.voucher_allocate)
    uses; call the filter directly to allocate in your own tasks.
positional: common_names, product_name
options:
  _input:
    description:
      - Voucher code records, from any number of voucher orders, each with at least C(id),
        C(voucher_order_id), C(value), C(product_name) and C(status), and C(cert_common_name) for used codes.
      - Records of other products are ignored, so all codes of an order can be passed.
    type: list
    elements: dict
    required: true
  common_names:
    description:
      - The hosts to give a code to, as a mapping of host name to the common name of its certificate.
    type: dict
    required: true
  product_name:
    description:
      - Display name of the product, such as V(Basic OV) or V(Secure Site Pro EV SSL). Compared
        without regard to case.
    type: str
    required: true
  share_common_names:
    description:
      - Whether hosts with the same common name share one code (one certificate for that name).
      - With V(false), two hosts with the same common name are an error.
    type: bool
    default: true
  taken:
    description:
      - Codes already given out elsewhere, which must not be handed out again, as code records or
        code values.
    type: list
    elements: raw
    default: []
  kept:
    description:
      - Codes given out before that must stay where they are, as a mapping of host to code record.
        Those hosts, and hosts with the same common name, keep these codes; nobody else gets them.
      - The role passes the codes of the hosts of earlier C(serial) batches here.
    type: dict
    default: {}
notes:
  - "Stable order: every pair of a common name and a code has a fixed score, a hash of the common name
    and the code's C(voucher_order_id) and C(id) (rendezvous hashing). Hosts are served in the order of
    their common names, and each takes the free code with the highest score for its name."
  - The same hosts, common names and codes always give the same answer, on any machine and Python.
  - Adding or removing a host changes the code of another host only when the newcomer's best free code
    was that host's (and then, rarely, the host that one displaces in turn); the fewer spare codes there
    are, the likelier that is. A host whose code is used never changes. New codes (a new voucher order)
    can also move a host that has not redeemed its code yet, since a new code may score higher for it.
  - The work grows with hosts times free codes; 700 hosts and 5000 codes take about a second.
  - Used codes are matched by C(cert_common_name), the only link between a redeemed code and a host
    that DigiCert returns.
seealso:
  - module: certops.digicert.digicert_voucher_codes
    description: Fetch the code records to allocate from.
"""

EXAMPLES = r"""
- name: Fetch the codes once for the whole play
  certops.digicert.digicert_voucher_codes:
    voucher_order_id: [25260, 25261]
  delegate_to: localhost
  run_once: true
  register: voucher

- name: Give every web server one Basic OV code
  ansible.builtin.set_fact:
    voucher_plan: >-
      {{ voucher.codes | certops.digicert.voucher_allocation(
           {'web1': 'www.example.com', 'web2': 'shop.example.com'}, 'Basic OV') }}
  run_once: true

- name: Show the code of this host
  ansible.builtin.debug:
    msg: "{{ voucher_plan[inventory_hostname].value }}"

- name: Fail instead of sharing a code between hosts with the same common name
  ansible.builtin.set_fact:
    voucher_plan: >-
      {{ voucher.codes | certops.digicert.voucher_allocation(names, 'Basic OV', share_common_names=false) }}
  vars:
    names: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('regex_replace', '$', '.example.com'))) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - A mapping of each host of O(common_names) to the full code record it gets, with the record's
      C(status) telling whether it is still V(active) or already V(used).
  type: dict
  sample:
    web1:
      id: 49250
      value: K7QH2MZ4XW5RTB3NVC6PLD2JFA7YSE4G
      product_name: Basic OV
      status: active
      voucher_order_id: 25260
      cert_common_name: null
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.certops.digicert.plugins.module_utils._allocation import AllocationError, allocate_codes


def voucher_allocation(codes, common_names, product_name, share_common_names=True, taken=None, kept=None):
    """Map each host to its voucher code record; see DOCUMENTATION."""
    if not isinstance(codes, (list, tuple)):
        raise AnsibleFilterError(
            f"voucher_allocation: the input must be a list of code records, not {type(codes).__name__}"
        )
    if not isinstance(common_names, Mapping):
        raise AnsibleFilterError(
            f"voucher_allocation: common_names must be a mapping of host to common name, "
            f"not {type(common_names).__name__}"
        )
    if taken is not None and not isinstance(taken, (list, tuple)):
        raise AnsibleFilterError(f"voucher_allocation: taken must be a list, not {type(taken).__name__}")
    if kept is not None and not isinstance(kept, Mapping):
        raise AnsibleFilterError(
            f"voucher_allocation: kept must be a mapping of host to code, not {type(kept).__name__}"
        )
    try:
        share = boolean(share_common_names, strict=True)
    except TypeError as exc:
        raise AnsibleFilterError(f"voucher_allocation: share_common_names: {exc}") from None
    try:
        return allocate_codes(
            codes,
            {to_text(host): to_text(name) if name is not None else None for host, name in common_names.items()},
            to_text(product_name) if product_name is not None else "",
            share_common_names=share,
            taken=taken or (),
            kept={to_text(host): code for host, code in (kept or {}).items()},
        )
    except AllocationError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"voucher_allocation": voucher_allocation}
