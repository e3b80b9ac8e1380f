"""Make ``ansible_collections.certops.digicert`` importable for the unit tests.

The plugins import each other by their full collection path, so this puts build/collections
(whose ansible_collections/certops/digicert is a symlink to the repository) first on sys.path
before any test module is imported. Coverage follows the symlink back to plugins/.
"""

from __future__ import annotations

import os
import sys

from tests.conftest import build_collections_tree

_COLLECTIONS = str(build_collections_tree())
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
# For code under test that asks ansible's plugin loader for certops.digicert plugins by name.
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", _COLLECTIONS)
