"""The seed detector (seeds.py): every pasted shape is found and redacted, addresses are left alone."""

from __future__ import annotations

import io
import logging
import re

import pytest

from include.stellar_lineage.seeds import (
    REDACTED,
    SEED_SHAPE,
    SeedRedactingFilter,
    contains_seed,
    find_seeds,
    install_log_redaction,
    redact_data,
    redact_seeds,
    seed_shaped,
    seed_substrings,
)
from tests.support.seed_shapes import DERIVED, SEED, VALID, VALID2, shapes

SHAPES = shapes()


def _leaks(text: str, seed: str = DERIVED) -> bool:
    """True if the seed (any case) survives, also with the shape's own noise removed."""
    squeezed = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    return seed.upper() in text.upper() or seed.upper() in squeezed or seed[5:40].upper() in squeezed


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_shape_is_found_and_redacted(name):
    text, schema_refuses = SHAPES[name]
    assert contains_seed(text), name
    redacted = redact_seeds(text)
    assert REDACTED in redacted and not _leaks(redacted), redacted
    assert bool(re.search(SEED_SHAPE, text)) is schema_refuses
    assert seed_shaped(text)


def test_redaction_keeps_the_rest_of_the_text():
    assert redact_seeds(f"my secret key is {DERIVED}, please add it") == f"my secret key is {REDACTED}, please add it"
    assert redact_seeds(f'["{VALID}", "{SEED}"]') == f'["{VALID}", "{REDACTED}"]'
    zw = DERIVED[:9] + "\u200b" + DERIVED[9:]
    assert redact_seeds(f"a {zw} b") == f"a {REDACTED} b"  # the invisible character goes with it
    assert redact_seeds(f"x={SEED} y={DERIVED.lower()}") == f"x={REDACTED} y={REDACTED}"


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        f"{VALID}, {VALID2}\n{VALID2}",
        " ".join([VALID, VALID2] * 200),
        ",".join([VALID, VALID2] * 200),
        "SAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU3",  # seed-shaped, bad checksum
        "GET /accounts/" + VALID + "/payments?order=desc&limit=200",
        "plain words, stellar lineage, success",
        "",
    ],
)
def test_no_false_positives(text):
    assert find_seeds(text) == [] and redact_seeds(text) == text


def test_bad_checksum_seed_is_still_seed_shaped():
    typo = SEED[:-1] + "3"
    assert not contains_seed(typo) and seed_shaped(typo) and seed_shaped(typo.lower())
    assert not seed_shaped(VALID) and not seed_shaped(f"{VALID}, {VALID2}")


def test_seed_substrings_gives_what_mask_secret_needs():
    text = "seed:" + DERIVED[:9] + "\u200b" + DERIVED[9:].lower()
    found = seed_substrings(text)
    assert DERIVED in found and DERIVED.lower() in found and text[5:] in found


def test_redact_data_walks_keys_and_values():
    value = {"ok": [VALID, {"k": f"x {SEED}"}], SEED: 1, "t": (DERIVED,), "n": 3}
    assert redact_data(value) == {"ok": [VALID, {"k": f"x {REDACTED}"}], REDACTED: 1, "t": (REDACTED,), "n": 3}


def test_log_filter_redacts_messages_args_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test_seeds_filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        install_log_redaction(logger)
        install_log_redaction(logger)
        assert sum(isinstance(f, SeedRedactingFilter) for f in handler.filters) == 1
        logger.warning("user typed %r", DERIVED.lower())
        logger.warning(f"inline {SEED}")
        try:
            raise ValueError(f"bad input {DERIVED}")
        except ValueError:
            logger.exception("failed")
        logger.warning("plain %s", VALID)
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert not _leaks(out) and not _leaks(out, SEED), out
    assert out.count(REDACTED) == 3 and VALID in out and "ValueError" in out
