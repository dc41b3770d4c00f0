"""StrKey validation against the SEP-23 / reference vectors, with the reason a user sees."""

from __future__ import annotations


import pytest

from include.stellar_lineage.validation import InvalidAddress, redact, split_valid, validate_account

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
    valid, invalid = split_valid([SEED, VALID[0]])
    assert valid == [VALID[0]]
    assert all(SEED not in shown and SEED not in why for shown, why in invalid)


def test_split_valid_dedupes_and_keeps_order():
    valid, invalid = split_valid([VALID[1], "nope", VALID[0], VALID[1]])
    assert valid == [VALID[1], VALID[0]]
    assert invalid == [("nope", "account addresses start with G")]
