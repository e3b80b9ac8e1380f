# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: digicert_voucher_codes
short_description: Codes of DigiCert voucher orders, fetched once per run
version_added: 0.1.0
description:
  - Returns the codes of the voucher orders given as terms, as one flat list of normalized records
    (the same records as M(certops.digicert.digicert_voucher_codes) returns), or only one field of each.
  - Ansible evaluates a lookup in an inventory variable again for every host and task, in forked
    workers. The codes of each voucher order are therefore cached for the current run, so a run costs
    one request per voucher order, API URL and key, however many hosts and forks ask.
author:
  - certops.digicert developers (@certops)
extends_documentation_fragment:
  - certops.digicert.connection
  - certops.digicert.connection.plugins
options:
  _terms:
    description:
      - Voucher order ids, positive whole numbers. Leave them out to use O(voucher_orders) instead.
    type: list
    elements: raw
  voucher_orders:
    description:
      - Instead of ids, use every voucher order matching these filters, as for the module's
        O(certops.digicert.digicert_voucher_codes#module:voucher_orders) option, for example
        V(codes_status) set to V([unused, partial]). The list of matching orders is cached for the
        run like the codes of each order.
    type: dict
  status:
    description: Keep only codes whose status is one of these (case-insensitive), for example V(active).
    type: list
    elements: str
  product_name:
    description: Keep only codes for these product names (case-insensitive), for example V(Basic OV).
    type: list
    elements: str
  field:
    description:
      - Return only this field of each code, for example V(value) for plain code strings.
    type: str
  cache:
    description:
      - Cache the codes of each voucher order for the current run, shared by all forks.
      - Turn it off to ask DigiCert on every evaluation.
    type: bool
    default: true
    ini:
      - section: certops_digicert
        key: cache
    env:
      - name: DIGICERT_CACHE
  cache_ttl:
    description:
      - Longest time in seconds a cached order is used within one run; older entries are fetched again.
      - Entries are only used by the C(ansible-playbook) run that made them. Their files stay until a later
        lookup finds them older than O(cache_ttl) and deletes them.
      - A failed fetch is remembered for 30 seconds, so the other hosts and forks of the run get the same
        error at once instead of each retrying DigiCert.
    type: float
    default: 600
    ini:
      - section: certops_digicert
        key: cache_ttl
  cache_dir:
    description:
      - Private folder (mode C(0700)) for the cache; files in it are mode C(0600). Entries are named by
        a hash, never by the API key.
    type: path
    default: ~/.cache/certops.digicert
    ini:
      - section: certops_digicert
        key: cache_dir
    env:
      - name: DIGICERT_CACHE_DIR
notes:
  - Use C(query()) or C(lookup(..., wantlist=true)) to always get a list. A plain C(lookup()) returns
    a single code as a dictionary instead of a list of one, and joins plain strings with commas, as
    Ansible does for every lookup.
  - The cache holds voucher codes, which are bearer value; it lives in O(cache_dir), readable only by
    its owner, and entries older than O(cache_ttl) are removed.
  - Request pacing applies within one process; the cache is what keeps many forks under DigiCert's limits.
seealso:
  - module: certops.digicert.digicert_voucher_codes
    description: The same codes from a task, with filtering, a CSV report and check mode.
"""

EXAMPLES = r"""
# In an inventory, for example group_vars/webservers.yml; evaluated for every host and task,
# fetched once per run:
#   voucher_codes: "{{ query('certops.digicert.digicert_voucher_codes', 25252, 25256) }}"

- name: Codes of two voucher orders, as records
  ansible.builtin.set_fact:
    voucher_codes: "{{ query('certops.digicert.digicert_voucher_codes', 25252, 25256) }}"

- name: Plain code strings of the unused Basic OV codes
  ansible.builtin.debug:
    msg: "{{ query('certops.digicert.digicert_voucher_codes', 25260, status='active',
             product_name='Basic OV', field='value') }}"

- name: Count the used codes of an order on the EU platform
  ansible.builtin.debug:
    msg: "{{ query('certops.digicert.digicert_voucher_codes', 25256, platform='eu', status='used') | length }}"

- name: Every unused code of the voucher orders that still have some, without naming an id
  ansible.builtin.debug:
    msg: "{{ query('certops.digicert.digicert_voucher_codes', voucher_orders={'codes_status': ['unused', 'partial']},
             status='active', field='value') }}"

- name: Always ask DigiCert, bypassing the cache
  ansible.builtin.set_fact:
    fresh_codes: "{{ lookup('certops.digicert.digicert_voucher_codes', 25252, cache=false, wantlist=true) }}"
"""

RETURN = r"""
_raw:
  description:
    - The normalized code records of all terms, order by order in the order given, or with O(field)
      the value of that field for each code.
  type: list
  elements: raw
"""

import json

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible_collections.certops.digicert.plugins.module_utils._api import (
    REQUESTS_IMPORT_ERROR,
    ConnectionSettings,
    DigiCertAPIError,
    DigiCertClient,
)
from ansible_collections.certops.digicert.plugins.module_utils._cache import CachedFailure, CacheError, CodesCache
from ansible_collections.certops.digicert.plugins.module_utils._orders import (
    build_order_filters,
    matching_voucher_order_ids,
)
from ansible_collections.certops.digicert.plugins.module_utils._records import (
    filter_codes,
    parse_voucher_order_ids,
)

display = Display()


def _log(message: str) -> None:
    display.vvv(f"certops.digicert.digicert_voucher_codes: {message}")


def _flattened(terms) -> list:
    # query('...', order_ids) passes a list as one term; take its ids as if they were given one by one.
    flat: list = []
    for term in terms or []:
        flat.extend(term if isinstance(term, (list, tuple)) else [term])
    return flat


# Variables the options read (see the doc fragment's plugin part).
_OPTION_VARIABLES = (
    "digicert_api_key",
    "digicert_api_url",
    "digicert_platform",
    "digicert_validate_certs",
    "digicert_ca_path",
)


class LookupModule(LookupBase):
    def _option_variables(self, variables) -> dict:
        """Our variables, templated: a lookup gets them raw (digicert_api_key: '{{ vault_key }}')."""
        found = {}
        for name in _OPTION_VARIABLES:
            if variables and name in variables:
                value = variables[name]
                if isinstance(value, str) and self._templar is not None and self._templar.is_template(value):
                    value = self._templar.template(value)
                found[name] = value
        return found

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=self._option_variables(variables), direct=kwargs)
        unknown = sorted(set(kwargs) - set(self._options))
        if unknown:
            raise AnsibleLookupError(
                f"unknown option {', '.join(unknown)}; "
                "ansible-doc -t lookup certops.digicert.digicert_voucher_codes lists them"
            )
        if REQUESTS_IMPORT_ERROR is not None:
            raise AnsibleLookupError("the Python library requests is required on the controller: pip install requests")
        order_filters = self.get_option("voucher_orders")
        try:
            if order_filters is not None and terms:
                raise ValueError("give voucher order ids as terms or voucher_orders, not both")
            if order_filters is not None:
                order_filters = build_order_filters(order_filters, option_prefix="voucher_orders.")
                order_ids = None
            else:
                order_ids = parse_voucher_order_ids(_flattened(terms), option_name="voucher order ids (terms)")
            settings = ConnectionSettings.from_options(self.get_option)
        except ValueError as exc:
            raise AnsibleLookupError(str(exc)) from None

        field = self.get_option("field")
        with DigiCertClient(settings, log=_log) as client:
            try:
                cache = self._cache(settings)
                if order_ids is None:
                    order_ids = self._matching_order_ids(client, cache, order_filters)
                if cache is None:
                    per_order = client.fetch_codes_of_orders(order_ids)
                else:
                    per_order = cache.get_or_fetch_many(order_ids, client.fetch_codes_of_orders)
            except (DigiCertAPIError, CacheError, CachedFailure) as exc:
                failure = str(exc)
            else:
                failure = None
        if failure is not None:
            raise AnsibleLookupError(failure)

        codes = [
            code
            for order_codes in per_order
            for code in filter_codes(order_codes, self.get_option("status"), self.get_option("product_name"))
        ]
        if field:
            if codes and field not in codes[0]:
                known = ", ".join(codes[0])
                raise AnsibleLookupError(f"field: {field!r} is not a field of DigiCert voucher codes; known: {known}")
            return [code.get(field) for code in codes]
        return codes

    def _cache(self, settings: ConnectionSettings) -> CodesCache | None:
        if not self.get_option("cache"):
            _log("cache off: asking DigiCert for every order")
            return None
        cache = CodesCache(
            self.get_option("cache_dir"),
            settings.api_url,
            settings.api_key,
            ttl=float(self.get_option("cache_ttl")),
            log=_log,
            # A failure remembered under one TLS setting must not answer for another.
            variant=f"{settings.validate_certs}\0{settings.ca_path or ''}",
        )
        cache.purge_expired()
        return cache

    def _matching_order_ids(self, client: DigiCertClient, cache: CodesCache | None, order_filters: dict) -> list[int]:
        def list_orders(_key=None) -> list[int]:
            return matching_voucher_order_ids(client, order_filters)

        if cache is None:
            return list_orders()
        # The listing is cached like an order's codes, so an inventory variable lists once per run too.
        listing_key = "voucher-orders:" + json.dumps(order_filters, sort_keys=True)
        return cache.get_or_fetch(listing_key, list_orders)
