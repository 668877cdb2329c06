"""Content fingerprints of schedules and recipes: equal documents, equal fingerprints."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> str:
    """A canonical JSON text: sorted keys, no whitespace, floats in repr form."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(data: Any) -> str:
    """A short hex digest of ``data`` (plain data, or anything with ``to_dict``)."""
    if hasattr(data, "to_dict"):
        data = data.to_dict()
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:16]
