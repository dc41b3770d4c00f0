"""StrKey validation against the SEP-23 / reference vectors, with the reason a user sees."""

from __future__ import annotations


import pytest

from include.stellar_lineage.validation import (
    SEED_REASON,
    InvalidAddress,
    account_or_none,
    parse_account_list,
    redact,
    validate_account,
)
from tests.support.seed_shapes import shapes

VALID = [
    "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7",
    "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
    "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ",
    "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB",
    "GAYOLLLUIZE4DZMBB2ZBKGBUBZLIOYU6XFLW37GBP2VZD3ABNXCW4BVA",
    "GBVFTZL5HIPT4PFQVTZVIWR77V7LWYCXU4CLYWWHHOEXB64XPG5LDMTU",
    "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF",
    "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
]
SEED = "SAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU2"

INVALID = [
    ("GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN6", "checksum"),
    ("GAAZI4TCR3BY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7", "checksum"),
    ("GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGA", "checksum"),
    ("GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN", "wrong length: 55"),
    ("gaazi4tcr3ty5ojhctjc2a4qsy6cjwjh5iajtgkin2er7lbnvkoccwn7", "lowercase"),
    (SEED, "secret seed"),
    ("GAAAAAAAACGC6", "wrong length: 13"),
    ("GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZA", "wrong length: 57"),
    ("GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUACUSI", "wrong length: 58"),
    ("G47QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVP2I", "checksum"),
    ("MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ", "muxed"),
    ("MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK", "muxed"),
    ("CA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQGAXE", "contract"),
    ("", "empty"),
    ("   ", "whitespace"),
    (" GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7", "whitespace"),
    ("GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7\n", "whitespace"),
    ("G';DROP TABLE lineage;--AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "whitespace"),
    ("G';DROP/**/TABLE/**/lineage;--AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "base32"),
    ("GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCC../", "base32"),
    ("GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN0", "base32"),
    ("<script>alert(1)</script>", "start with G"),
]


@pytest.mark.parametrize("address", VALID)
def test_valid_addresses(address):
    assert validate_account(address) == address


@pytest.mark.parametrize(("address", "reason"), INVALID)
def test_invalid_addresses_have_reasons(address, reason):
    with pytest.raises(InvalidAddress) as err:
        validate_account(address)
    assert reason in err.value.reason


def test_non_string_rejected():
    with pytest.raises(InvalidAddress, match="expected a string"):
        validate_account(None)


def test_secret_seed_never_echoed():
    with pytest.raises(InvalidAddress) as err:
        validate_account(SEED)
    assert SEED not in str(err.value)
    assert SEED not in redact(SEED)
    assert SEED[5:20] not in redact(SEED)
    assert redact(f"my key: {SEED.lower()}, ok") == "S…(secret seed redacted)"  # the whole input goes


def test_pasted_csv_json_and_lines_are_normalised_and_reported():
    items = [
        f' "{VALID[0]}", ',  # quoted CSV cell with a trailing comma
        f'["{VALID[1]}", "{VALID[2]}"]',  # a JSON array on one line
        f"{VALID[3]}\n{VALID[4]}\n",  # one per line inside a single entry
        f"{VALID[5]}\u200b",  # copied from a web page
        f"  {VALID[6]}  ",
        VALID[0],  # duplicate
        "",
    ]
    parsed = parse_account_list(items)
    assert parsed.valid == VALID[:7]
    assert parsed.duplicates == 1
    assert parsed.rejected == [{"index": 6, "part": 0, "reason": "empty entry"}]
    changes = {(n["index"], n["part"]): n["changes"] for n in parsed.normalised}
    assert changes[(0, 0)] == ["removed quotes or brackets"]
    assert changes[(1, 0)] == ["split from an entry of 2 values", "removed quotes or brackets"]
    assert changes[(2, 1)] == ["split from an entry of 2 values"]
    assert changes[(3, 0)] == ["removed invisible characters"]
    assert changes[(4, 0)] == ["trimmed surrounding whitespace"]
    assert all(n["address"] in VALID for n in parsed.normalised)
    assert (5, 0) not in changes


def test_rejections_are_reported_by_index_and_reason_never_echoed():
    bad = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN6"
    parsed = parse_account_list([VALID[0], bad, f"{VALID[1]},nope", 7])
    assert parsed.valid == [VALID[0], VALID[1]]
    assert parsed.rejected == [
        {"index": 1, "part": 0, "reason": "bad checksum or encoding (not a valid StrKey)"},
        {"index": 2, "part": 1, "reason": "account addresses start with G"},
        {"index": 3, "part": 0, "reason": "expected a string, got int"},
    ]
    assert bad not in repr(parsed.report()) and "nope" not in repr(parsed.report())


@pytest.mark.parametrize(("name", "shape"), [(k, v[0]) for k, v in shapes().items()])
def test_an_entry_holding_a_seed_is_refused_whole(name, shape):
    parsed = parse_account_list([VALID[0], shape])
    assert parsed.valid == [VALID[0]]
    assert parsed.rejected == [{"index": 1, "part": 0, "reason": SEED_REASON}]
    assert parsed.secrets and all(s not in repr(parsed.report()) for s in parsed.secrets)


def test_account_or_none_drops_and_logs_without_echo(caplog):
    caplog.set_level("WARNING")
    assert account_or_none(VALID[0], "creator") == VALID[0]
    for value in (SEED, VALID[0].lower(), "G" * 56, None, 5, VALID[0] + " "):
        assert account_or_none(value, "creator") is None
    assert SEED not in caplog.text and VALID[0].lower() not in caplog.text
    assert caplog.text.count("Dropped an invalid account id in creator") == 6
