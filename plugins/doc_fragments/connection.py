# Copyright: (c) 2026, certops.digicert developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module and plugin of the collection.
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - DigiCert CertCentral API key, sent in the C(X-DC-DEVKEY) header to the API host only.
      - A key with the C(View Only) role is enough; this collection only reads.
      - When not set, the E(DIGICERT_API_KEY) environment variable is used.
    type: str
  api_url:
    description:
      - Base URL of the CertCentral services API, with or without a trailing slash.
      - When not set, the E(DIGICERT_API_URL) environment variable is used, and without it the URL of
        O(platform).
    type: str
  platform:
    description:
      - Which CertCentral platform to talk to when O(api_url) is not set.
      - V(us) is C(https://www.digicert.com/services/v2), V(eu) is C(https://certcentral.digicert.eu/services/v2).
    type: str
    choices: [us, eu]
    default: us
  timeout:
    description:
      - Seconds to wait for DigiCert to connect and to answer, per request.
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the API's TLS certificate. Only turn this off for a test server you run yourself.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificates to trust instead of the system's, for example when a corporate
        proxy inspects TLS.
    type: path
  retries:
    description:
      - How many times a transient failure is retried (HTTP 429, 502, 503 and 504, a reset connection,
        a timeout), with exponential back-off and jitter. A C(Retry-After) header is honoured.
      - Other errors are never retried.
    type: int
    default: 5
  max_retry_wait:
    description:
      - Longest total time in seconds spent waiting between retries of one request; once the next wait
        would pass it, the task fails with the last error.
    type: float
    default: 60
  max_concurrent_requests:
    description:
      - Most requests in flight at once when several voucher orders are fetched, over one pool of
        keep-alive connections. Requests are still paced under DigiCert's rate limits.
    type: int
    default: 8
notes:
  - The API key is never logged, returned or written; error messages replace it with C(********) even
    when a server echoes it back.
  - Requests are paced under DigiCert's published limits of 100 requests per 5 seconds and 1000 per
    3 minutes per key, within one process.
  - HTTP redirects are not followed, so the key is never sent to another host.
"""

    # Plugins (the lookup) also read the connection from the environment, variables and ansible.cfg.
    # The key gets no ini entry: a secret does not belong in a configuration file.
    PLUGINS = r"""
options:
  api_key:
    env:
      - name: DIGICERT_API_KEY
    vars:
      - name: digicert_api_key
  api_url:
    env:
      - name: DIGICERT_API_URL
    vars:
      - name: digicert_api_url
    ini:
      - section: certops_digicert
        key: api_url
  platform:
    vars:
      - name: digicert_platform
    ini:
      - section: certops_digicert
        key: platform
  timeout:
    ini:
      - section: certops_digicert
        key: timeout
  validate_certs:
    vars:
      - name: digicert_validate_certs
    ini:
      - section: certops_digicert
        key: validate_certs
  ca_path:
    vars:
      - name: digicert_ca_path
    ini:
      - section: certops_digicert
        key: ca_path
  retries:
    ini:
      - section: certops_digicert
        key: retries
  max_retry_wait:
    ini:
      - section: certops_digicert
        key: max_retry_wait
  max_concurrent_requests:
    ini:
      - section: certops_digicert
        key: max_concurrent_requests
"""
