"""Which data a study ran on, in terms readable anywhere: a file's name, rows and content hash.

Light on purpose (no pandas, no scikit-learn): ``tunekit best`` and the report import it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

BUILTIN_DATASETS: tuple[str, ...] = (
    "digits",
    "breast_cancer",
    "iris",
    "wine",
    "diabetes",
    "moons",
    "circles",
)
#: Hex digits of the sha256 kept: enough to tell two versions of a file apart at a glance.
HASH_DIGITS = 12


def file_identity(path: Path, rows: int) -> dict[str, Any]:
    """``{"file": name, "file_rows": rows, "sha256": first HASH_DIGITS hex of the file's bytes}``."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "file_rows": rows, "sha256": digest.hexdigest()[:HASH_DIGITS]}


def data_summary(described: Mapping[str, Any], data: str) -> str:
    """The data a study ran on, in one line readable anywhere: ``houses.csv (506 rows, sha256 0123456789ab)``,
    ``iris (built-in, 150 rows)``; ``data`` (the source as written) when ``described`` has neither.

    ``described`` is ``Dataset.describe()`` as stored with the study.
    """
    rows = described.get("rows")
    if described.get("file") and described.get("sha256"):
        file_rows = described.get("file_rows", rows)
        used = f"; {rows} used: max_rows" if rows is not None and file_rows is not None and rows != file_rows else ""
        return f"{described['file']} ({file_rows} rows, sha256 {described['sha256']}{used})"
    if rows is not None and str(described.get("name", "")) in BUILTIN_DATASETS:
        return f"{described['name']} (built-in, {rows} rows)"
    return data
