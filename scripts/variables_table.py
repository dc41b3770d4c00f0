"""Print the README's Variables table from include/stellar_lineage/config_variables.py (the single source).

tests/include/test_readme.py fails when README.md and this output disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.config import FIELDS, PREFIX  # noqa: E402


def table() -> str:
    rows = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for f in FIELDS:
        default = f.default if f.default != "" else "(empty)"
        kind = f.kind.replace("|", "\\|")  # a bare pipe would split the Markdown cell
        rows.append(f"| `{PREFIX}{f.name}` | {kind} | `{default}` | {f.meaning} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
