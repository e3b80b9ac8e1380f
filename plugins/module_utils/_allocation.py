# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: hand out one voucher code per host, the same way on every run.

Nothing here is a public API; it may change in any release. The filter plugin
``certops.digicert.voucher_allocation`` and the role ``certops.digicert.voucher_allocate`` use it.

The rules, in order:

1. Only codes of the wanted product count (compared without regard to case).
2. Hosts are grouped by common name (compared without case and without a trailing dot). A group
   is one certificate: every host in it gets the same code. With ``share_common_names=False`` a
   group of more than one host is an error instead.
3. A group with a host in ``kept`` (codes given out before, such as to an earlier ``serial``
   batch) keeps that code; kept codes are never handed to anyone else.
   Otherwise, a group whose common name is on a used code of the product keeps that code, so runs after
   the code was redeemed give the same answer. With several such codes, the most recently
   requested one (``cert_request_date``, then the highest ``id``) wins.
4. Every other group gets its own active code. Codes whose voucher validity ended before today,
   and codes listed in ``taken``, are not handed out.
5. Which active code: rendezvous hashing. Every (common name, code) pair has a fixed score, a hash
   of the common name and the code's ``voucher_order_id`` and ``id``. Groups are served in the
   order of their common names, and each takes the free code with the highest score for its name.
   The same inventory and the same codes therefore always give the same answer, and adding or
   removing a host moves another host only when the newcomer's best free code was that host's
   (and then, rarely, the host it displaces in turn).
6. If there are fewer free active codes than groups that need one, nothing is assigned: an
   AllocationShortage says how many codes of which product are missing.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping

from ansible_collections.certops.digicert.plugins.module_utils._records import days_until


class AllocationError(ValueError):
    """The inputs cannot be turned into an allocation (bad input, shared common names, shortage)."""


class AllocationShortage(AllocationError):
    """Fewer free active codes than hosts that need one."""

    def __init__(self, message: str, product_name: str, needed: int, available: int) -> None:
        super().__init__(message)
        self.product_name = product_name
        self.needed = needed
        self.available = available

    @property
    def missing(self) -> int:
        return self.needed - self.available


def common_name_key(common_name: str) -> str:
    """DNS names compare without case and without a trailing dot."""
    return common_name.strip().rstrip(".").casefold()


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _code_sort_key(code: Mapping) -> tuple[int, int]:
    return (code.get("voucher_order_id") or 0, code.get("id") or 0)


def _score_key(code: Mapping) -> bytes:
    return f"\n{code.get('voucher_order_id')}:{code.get('id')}".encode()


def _take_best(group_key: str, free: list[Mapping], score_keys: list[bytes]) -> Mapping:
    """Remove from ``free`` (and ``score_keys``) the code with the highest score for ``group_key``."""
    # blake2b is in every Python's hashlib and, unlike hash(), gives the same value on every Python
    # version and machine. One hash per free code and group: about a second for 700 hosts x 5000 codes.
    name_hash = hashlib.blake2b(group_key.encode("utf-8"), digest_size=8)

    def score(key: bytes) -> bytes:
        pair_hash = name_hash.copy()
        pair_hash.update(key)
        return pair_hash.digest()

    scores = list(map(score, score_keys))
    # Ties (practically impossible) go to the first code in (voucher_order_id, id) order.
    best = scores.index(max(scores))
    score_keys.pop(best)
    return free.pop(best)


def _expired(code: Mapping, today: datetime.date) -> bool:
    days_left = days_until(code.get("voucher_validity_end_date"), today)
    return days_left is not None and days_left < 0


def _group_hosts(common_names_by_host: Mapping, share_common_names: bool) -> dict[str, list[str]]:
    if not isinstance(common_names_by_host, Mapping):
        raise AllocationError(
            f"voucher_allocate: the common names must be a mapping of host to common name, "
            f"not {type(common_names_by_host).__name__}"
        )
    groups: dict[str, list[str]] = {}
    for host, common_name in common_names_by_host.items():
        if not _text(common_name):
            raise AllocationError(f"voucher_allocate: host {host} has no common name")
        groups.setdefault(common_name_key(common_name), []).append(str(host))
    for hosts in groups.values():
        hosts.sort()
    if not share_common_names:
        shared = [hosts for hosts in groups.values() if len(hosts) > 1]
        if shared:
            details = "; ".join(f"{', '.join(hosts)} ({common_names_by_host[hosts[0]]})" for hosts in sorted(shared))
            raise AllocationError(
                f"voucher_allocate: these hosts share a common name, and sharing a code is turned off: {details}"
            )
    return groups


def _latest_used(codes: list[Mapping]) -> Mapping:
    return max(codes, key=lambda code: (_text(code.get("cert_request_date")), _code_sort_key(code)))


def _kept_codes(kept, groups: dict[str, list[str]]) -> dict[str, Mapping]:
    if kept is None:
        return {}
    if not isinstance(kept, Mapping):
        raise AllocationError(
            f"voucher_allocate: kept codes must be a mapping of host to code, not {type(kept).__name__}"
        )
    by_group = {}
    for group_key, hosts in groups.items():
        holders = [host for host in hosts if isinstance(kept.get(host), Mapping)]
        if holders:
            by_group[group_key] = kept[holders[0]]
    return by_group


def _code_values(taken) -> set[str]:
    values: set[str] = set()
    for item in taken or ():
        value = item.get("value") if isinstance(item, Mapping) else item
        if isinstance(value, str) and value.strip():
            values.add(value.strip())
    return values


def allocate_codes(
    codes: Iterable[Mapping],
    common_names_by_host: Mapping,
    product_name: str,
    *,
    share_common_names: bool = True,
    taken: Iterable = (),
    kept: Mapping | None = None,
    today: datetime.date | None = None,
) -> dict[str, dict]:
    """Return ``{host: code record}`` for every host of ``common_names_by_host``; see the module docstring.

    ``codes`` are normalized code records (as the module and the lookup return them), from one or
    more voucher orders. ``taken`` lists codes (records or values) already given out elsewhere, which
    nobody gets. ``kept`` maps hosts to the code records they were given before (an earlier ``serial``
    batch): they and the hosts sharing their common name keep those, and nobody else gets them.
    Raises AllocationError, or AllocationShortage when codes are missing; then nothing is assigned.
    """
    wanted_product = _text(product_name)
    if not wanted_product:
        raise AllocationError("voucher_allocate: a product name is needed, for example 'Basic OV'")
    product_key = wanted_product.casefold()
    today = today or datetime.date.today()
    groups = _group_hosts(common_names_by_host, share_common_names)
    kept_codes = _kept_codes(kept, groups)
    taken_values = _code_values(taken) | _code_values((kept or {}).values())

    used_by_name: dict[str, list[Mapping]] = {}
    free: list[Mapping] = []
    expired = 0
    seen: set[tuple] = set()
    for code in codes:
        if not isinstance(code, Mapping):
            raise AllocationError(f"voucher_allocate: a code record must be a mapping, not {type(code).__name__}")
        if _text(code.get("product_name")).casefold() != product_key:
            continue
        # The same order fetched twice must not make one code count as two.
        identity = (code.get("voucher_order_id"), code.get("id"), code.get("value"))
        if identity in seen:
            continue
        seen.add(identity)
        status = _text(code.get("status")).casefold()
        if status == "used":
            common_name = _text(code.get("cert_common_name"))
            if common_name:
                used_by_name.setdefault(common_name_key(common_name), []).append(code)
        elif status == "active" and _text(code.get("value")) not in taken_values:
            if _expired(code, today):
                expired += 1
            else:
                free.append(code)

    assigned: dict[str, Mapping] = {}
    needing: list[str] = []
    for group_key in sorted(groups):
        if group_key in kept_codes:
            assigned[group_key] = kept_codes[group_key]
        elif group_key in used_by_name:
            assigned[group_key] = _latest_used(used_by_name[group_key])
        else:
            needing.append(group_key)

    if len(needing) > len(free):
        raise _shortage(wanted_product, needing, groups, len(free), expired)

    free.sort(key=_code_sort_key)
    score_keys = [_score_key(code) for code in free]
    for group_key in needing:
        assigned[group_key] = _take_best(group_key, free, score_keys)

    return {host: dict(assigned[group_key]) for group_key, hosts in groups.items() for host in hosts}


def _shortage(product: str, needing: list[str], groups: dict[str, list[str]], available: int, expired: int):
    hosts = sum(len(groups[key]) for key in needing)
    who = _plural(hosts, "host needs", "hosts need")
    if hosts != len(needing):
        who = f"{_plural(hosts, 'host', 'hosts')} ({_plural(len(needing), 'common name', 'common names')}) need"
    left = "no active code is left" if available == 0 else _plural(available, "active code is", "active codes are")
    if available:
        left = f"only {left} left"
    message = f"voucher_allocate: {who} a {product} code but {left}; {len(needing) - available} missing"
    if expired:
        message += f" ({_plural(expired, 'more active code has', 'more active codes have')} expired)"
    return AllocationShortage(message, product, len(needing), available)
