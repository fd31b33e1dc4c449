"""rclone's default jottacloud encoding: mapping facts and round trips."""

from __future__ import annotations

import pytest
from cloudsync.backends.jottacloud._encoding import DEFAULT_ENCODING, Encoder, parse_encoding

ENC = Encoder.from_text(DEFAULT_ENCODING)


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a:b?.txt", "a：b？.txt"),
        ('<>"*|', "＜＞＂＊｜"),
        ("100%", "100％"),
        ("test%46.txt", "test％46.txt"),
        ("a/b", "a／b"),
        ("tab\there", "tab␉here"),
        ("del\x7f", "del␡"),
        ("nul\x00", "nul␀"),
        (".", "．"),
        ("..", "．．"),
        ("plain name.txt", "plain name.txt"),
        ("a：b", "a‛：b"),  # a literal replacement character is quoted
        ("q‛x", "q‛‛x"),
        ("bad\udcfe", "bad‛FE"),  # invalid UTF-8 (surrogate-escaped) as quoted hex
        ("\\backslash", "\\backslash"),  # not in jottacloud's set
    ],
)
def test_encode_facts(raw: str, encoded: str) -> None:
    assert ENC.encode(raw) == encoded
    assert ENC.decode(encoded) == raw


AWKWARD = [chr(c) for c in range(0x20)] + ["\x7f", ".", "..", "．", "．．"] + list(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
) + [" lead", "trail ", "~tilde", "\rcr", "dot.", "\udcfe", "test%46.txt", "hello? sausage", "‛", "‛41", "＊"]


@pytest.mark.parametrize("name", AWKWARD)
def test_round_trip(name: str) -> None:
    enc = ENC.encode(name)
    assert "/" not in enc and ":" not in enc and "%" not in enc
    assert ENC.decode(enc) == name


def test_paths() -> None:
    assert ENC.encode_path("a:1/b?2") == "a：1/b？2"
    assert ENC.decode_path("a：1/b？2") == "a:1/b?2"


def test_parse_encoding_rejects_unknown_flags() -> None:
    assert "Colon" in parse_encoding("Colon, Slash")
    with pytest.raises(ValueError, match="Bogus"):
        parse_encoding("Colon,Bogus")
    none = Encoder.from_text("None")
    assert none.encode("a:b") == "a:b"
