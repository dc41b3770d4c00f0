"""How each Airflow Variable's text is parsed and validated (used by the table in ``config_variables``).

Every parser takes the raw string and returns the typed value, or raises ``ValueError`` saying what
is accepted; ``config.parse_settings`` turns that into a ``ConfigError`` naming the Variable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number >= {minimum}") from None
        if value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}")
        return value

    return parse


def float_at_least(minimum: float, *, exclusive: bool = False) -> Callable[[str], float]:
    bound = f"> {minimum}" if exclusive else f">= {minimum}"

    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number {bound}") from None
        if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
            raise ValueError(f"expected a number {bound}")
        return value

    return parse


def auto_or_int(raw: str) -> int | None:
    if raw.strip().lower() == "auto":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("expected 'auto' or a whole number >= 1") from None
    if value < 1:
        raise ValueError("expected 'auto' or a whole number >= 1")
    return value


def one_of(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return value

    return parse


def json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON object ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


# BigQuery label rules: keys start with a lowercase letter; keys and values hold lowercase letters,
# digits, "_" and "-", at most 63 characters (values may be empty); at most 64 labels per job.
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
AIRFLOW_LABELS = ("airflow-dag", "airflow-task")  # added per job, as the Google provider does


def bigquery_labels(raw: str) -> dict[str, str]:
    value = json_object(raw)
    if len(value) > 64 - len(AIRFLOW_LABELS):
        raise ValueError(f"expected at most {64 - len(AIRFLOW_LABELS)} labels (BigQuery allows 64 per job)")
    for key, item in value.items():
        if key in AIRFLOW_LABELS:
            raise ValueError(f"label {key!r} is set per job from the DAG and task ids")
        if not LABEL_KEY.match(key):
            raise ValueError(f"label key {key!r}: lowercase letters, digits, '_' or '-', starting with a letter")
        if not isinstance(item, str) or not LABEL_VALUE.match(item):
            raise ValueError(f"label {key!r}: the value must be a string of lowercase letters, digits, '_' or '-'")
    return value


def days_or_off(raw: str) -> int:
    """Whole days >= 0, where 0 switches the feature off (``refresh_after_days``)."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number of days >= 0 (0 turns the refresh off)") from None
    if value < 0:
        raise ValueError("expected a whole number of days >= 0 (0 turns the refresh off)")
    return value


def text(raw: str) -> str:
    return raw.strip()
