# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to certops.digicert: the argument spec modules share for the connection options.

It mirrors plugins/doc_fragments/connection.py; sanity's validate-modules checks the two agree.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback


def connection_argument_spec() -> dict:
    return {
        "api_key": {"type": "str", "no_log": True, "fallback": (env_fallback, ["DIGICERT_API_KEY"])},
        "api_url": {"type": "str", "fallback": (env_fallback, ["DIGICERT_API_URL"])},
        "platform": {"type": "str", "choices": ["us", "eu"], "default": "us"},
        "timeout": {"type": "float", "default": 30},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "retries": {"type": "int", "default": 5},
        "max_retry_wait": {"type": "float", "default": 60},
        "max_concurrent_requests": {"type": "int", "default": 8},
    }
