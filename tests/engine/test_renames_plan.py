"""Plan tests for ``sync --track-renames``: candidates in, (rename, copy) decisions out, no I/O."""

from __future__ import annotations

import pytest

from cloudsync.backend import Features
from cloudsync.engine.options import SyncOptions
from cloudsync.engine.plan import Context, Planner
from cloudsync.engine.renames import (
    Strategy,
    match_renames,
    needs_hash,
    parse_strategy,
    rename_key,
    why_ignored,
)
from cloudsync.errors import UsageError
from cloudsync.types import MODTIME_UNSUPPORTED, Entry

S = 1_000_000_000
T = 1_000_000_000 * S
MD5A, MD5B = "a" * 32, "b" * 32
HASH = Strategy()


def f(path: str, size: int = 10, mtime: int | None = T, md5: str | None = MD5A) -> Entry:
    return Entry(path, False, size, mtime, {"md5": md5} if md5 is not None else {})


def names(renames: list[tuple[Entry, Entry]]) -> list[str]:
    return [f"{dst.path}->{src.path}" for src, dst in renames]


def test_parse_strategy() -> None:
    assert parse_strategy("hash") == Strategy(hash=True)
    assert parse_strategy("modtime,leaf") == Strategy(hash=False, modtime=True, leaf=True)
    assert parse_strategy("size") == Strategy(hash=False)  # size is always part of the key
    assert parse_strategy("") == Strategy(hash=False)
    with pytest.raises(UsageError, match="unknown track renames strategy 'md5'"):
        parse_strategy("hash,md5")


def test_key_is_size_plus_hash_and_leaf() -> None:
    assert rename_key(f("d/x.txt"), HASH, "md5") == f"10,{MD5A}"
    assert rename_key(f("d/x.txt"), Strategy(leaf=True), "md5") == f"10,{MD5A},x.txt"
    assert rename_key(f("d/x.txt", md5=None), Strategy(hash=False, leaf=True), None) == "10,x.txt"
    # the hash is needed but unknown: never matched
    assert rename_key(f("x", md5=None), HASH, "md5") is None
    assert rename_key(f("x", md5=""), HASH, "md5") is None


def test_hash_match_pairs_each_destination_once() -> None:
    src = [f("new1"), f("new2"), f("other", md5=MD5B)]
    dst = [f("old1"), f("bigger", size=11)]
    renames, unmatched = match_renames(src, dst, HASH, "md5", 1)
    assert names(renames) == ["old1->new1"]
    assert [e.path for e in unmatched] == ["new2", "other"]


def test_size_must_agree() -> None:
    renames, unmatched = match_renames([f("a", size=5)], [f("b", size=6)], HASH, "md5", 1)
    assert renames == [] and [e.path for e in unmatched] == ["a"]


def test_modtime_strategy_checks_the_window() -> None:
    mt = Strategy(hash=False, modtime=True)
    src = [f("a", mtime=T)]
    assert names(match_renames(src, [f("b", mtime=T + S)], mt, None, S)[0]) == []
    assert names(match_renames(src, [f("b", mtime=T + S - 1)], mt, None, S)[0]) == ["b->a"]
    # the first candidate whose modtime agrees, not the first with the key
    dst = [f("far", mtime=T + 10 * S), f("near", mtime=T)]
    assert names(match_renames(src, dst, mt, None, 1)[0]) == ["near->a"]


def test_leaf_strategy_needs_the_same_name() -> None:
    leaf = Strategy(hash=False, leaf=True)
    src = [f("to/name.txt", md5=MD5B), f("to/else.txt")]
    dst = [f("from/name.txt"), f("from/other.txt")]
    renames, unmatched = match_renames(src, dst, leaf, None, 1)
    assert names(renames) == ["from/name.txt->to/name.txt"]
    assert [e.path for e in unmatched] == ["to/else.txt"]


def test_needs_hash_only_for_sizes_that_could_match() -> None:
    entries = [f("a", md5=None), f("b", size=3, md5=None), f("c")]
    assert [e.path for e in needs_hash(entries, {10}, HASH, "md5")] == ["a"]
    assert needs_hash(entries, {10}, Strategy(hash=False, leaf=True), "md5") == []


def test_why_ignored() -> None:
    ok = {"sync": True, "dst_can_move": True, "hash_type": "md5", "window": 1}
    assert why_ignored(HASH, **ok) is None  # type: ignore[arg-type]
    assert "server-side move" in (why_ignored(HASH, **{**ok, "dst_can_move": False}) or "")  # type: ignore[arg-type]
    assert "common hash" in (why_ignored(HASH, **{**ok, "hash_type": None}) or "")  # type: ignore[arg-type]
    # no common hash does not matter when the strategy does not use one
    assert why_ignored(Strategy(hash=False, leaf=True), **{**ok, "hash_type": None}) is None  # type: ignore[arg-type]
    assert "modtime" in (why_ignored(Strategy(hash=False, modtime=True),
                                     **{**ok, "window": MODTIME_UNSUPPORTED}) or "")  # type: ignore[arg-type]
    assert "only sync" in (why_ignored(HASH, **{**ok, "sync": False}) or "")  # type: ignore[arg-type]


def test_planner_holds_new_files_and_collects_destination_only_ones() -> None:
    feats = Features(hashes=frozenset({"md5"}), precision_ns=1)
    planner = Planner(Context.build(SyncOptions(track_renames=True), feats, feats), "sync")
    planner.held_new = []
    assert planner.pair(f("new.txt"), None) is None  # held, not copied yet
    assert planner.pair(None, f("old.txt")) is None  # a delete-after candidate
    changed = planner.pair(f("same.txt", md5=MD5B), f("same.txt", size=3))
    assert str(changed) == "copy(same.txt)"  # pairs present on both sides are not held
    assert [str(a) for a in planner.held_new] == ["copy(new.txt)"]
    assert [e.path for e in planner.delete_candidates] == ["old.txt"]
