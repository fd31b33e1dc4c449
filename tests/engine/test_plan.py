"""Plan tests: (src entry, dst entry, options, features) → action string, no I/O (§B.1, §B.2)."""

from __future__ import annotations

import pytest

from cloudsync.backend import Features
from cloudsync.engine.march import Pair, make_key, merge_listings
from cloudsync.engine.options import SyncOptions
from cloudsync.engine.plan import (
    CHECKSUM_FALLBACK_NOTICE,
    FORCED_UPLOAD_NOTICE,
    Context,
    Planner,
    common_hash,
    decide_file,
    modify_window,
    name_problem,
)
from cloudsync.errors import NoRetryError
from cloudsync.types import MODTIME_UNSUPPORTED, Entry

S = 1_000_000_000
T = 1_000_000_000 * S  # some time in 2001
MD5A = "a" * 32
MD5B = "b" * 32

NS = Features(hashes=frozenset({"md5"}), precision_ns=1)
SHA1_ONLY = Features(hashes=frozenset({"sha1"}), precision_ns=1)
NO_HASH = Features(hashes=frozenset(), precision_ns=1)
ONE_SEC = Features(hashes=frozenset({"md5"}), precision_ns=S)
NO_MTIME = Features(hashes=frozenset({"md5"}), precision_ns=MODTIME_UNSUPPORTED)


def f(path: str = "x.txt", size: int = 10, mtime: int | None = T, md5: str | None = None,
      **hashes: str) -> Entry:
    h = dict(hashes)
    if md5 is not None:
        h["md5"] = md5
    return Entry(path, False, size, mtime, h)


def decide(src: Entry, dst: Entry | None, *, src_f: Features = NS, dst_f: Features = NS,
           caps: frozenset[str] = frozenset({"set_modtime"}), **opts: object) -> str:
    ctx = Context.build(SyncOptions(**opts), src_f, dst_f, caps)  # type: ignore[arg-type]
    return str(decide_file(src, dst, ctx))


# -- definitions ---------------------------------------------------------------------------------

def test_modify_window_is_the_coarsest_precision() -> None:
    assert modify_window(1, NS, NS) == 1
    assert modify_window(1, NS, ONE_SEC) == S
    assert modify_window(2 * S, NS, ONE_SEC) == 2 * S
    assert modify_window(1, NS, NO_MTIME) == MODTIME_UNSUPPORTED


def test_common_hash_follows_registration_order() -> None:
    both = Features(hashes=frozenset({"sha1", "md5"}))
    assert common_hash(both, both) == "md5"
    assert common_hash(both, SHA1_ONLY) == "sha1"
    assert common_hash(NS, SHA1_ONLY) is None
    assert common_hash(NO_HASH, NS) is None


# -- NeedTransfer matrix -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("src", "dst", "kw", "expected"),
    [
        # 1. missing dst
        (f(), None, {}, "copy(x.txt)"),
        # 2. --ignore-existing beats everything, even different sizes
        (f(size=1), f(size=2), {"ignore_existing": True}, "skip(x.txt: destination exists)"),
        # 3. --ignore-times transfers equal files
        (f(md5=MD5A), f(md5=MD5A), {"ignore_times": True}, "copy(x.txt)"),
        # a. sizes differ → transfer whatever the mtimes
        (f(size=1), f(size=2), {}, "copy(x.txt)"),
        (f(size=1, mtime=T), f(size=2, mtime=T + 5 * S), {}, "copy(x.txt)"),
        # --ignore-size: sizes do not count
        (f(size=1), f(size=2), {"ignore_size": True}, "skip(x.txt: same size and modtime)"),
        # unknown size (-1) never differs
        (f(size=-1), f(size=2), {}, "skip(x.txt: same size and modtime)"),
        # b. --size-only
        (f(mtime=T), f(mtime=T + 9 * S, md5=MD5B), {"size_only": True}, "skip(x.txt: same size)"),
        # e. same size, same mtime, different content: NOT transferred in default mode
        (f(md5=MD5A), f(md5=MD5B), {}, "skip(x.txt: same size and modtime)"),
        # c. --checksum catches it
        (f(md5=MD5A), f(md5=MD5B), {"checksum": True}, "copy(x.txt)"),
        (f(md5=MD5A, mtime=T), f(md5=MD5A, mtime=T + 9 * S), {"checksum": True},
         "skip(x.txt: md5 same)"),
        # c. --checksum with an empty hash on one side: equal (size-only), never a mismatch
        (f(md5=""), f(md5=MD5B), {"checksum": True}, "skip(x.txt: size same (no hash to compare))"),
        # c. --checksum with the hash missing from the listing: fetch it
        (f(), f(md5=MD5B), {"checksum": True}, "hash(x.txt)"),
        # f. mtimes differ, hashes equal → fix the modtime in place (no data transfer)
        (f(md5=MD5A), f(md5=MD5A, mtime=T + 1), {}, "update_modtime(x.txt)"),
        # f. mtimes differ, hashes differ → transfer
        (f(md5=MD5A), f(md5=MD5B, mtime=T + 1), {}, "copy(x.txt)"),
        # f. hash unknown in the listing: ask for it
        (f(), f(mtime=T + 1), {}, "hash(x.txt)"),
        # f. --no-update-modtime leaves the dst alone
        (f(md5=MD5A), f(md5=MD5A, mtime=T + 1), {"no_update_modtime": True},
         "skip(x.txt: same content, modtime not updated)"),
        # f. --immutable: a timestamp mismatch is an error
        (f(md5=MD5A), f(md5=MD5A, mtime=T + 1), {"immutable": True},
         "error(x.txt: Timestamp mismatch between immutable objects)"),
        # --immutable: different content is an error, a new file is fine
        (f(size=1), f(size=2), {"immutable": True},
         "error(x.txt: Source and destination exist but do not match: immutable file modified)"),
        (f(), None, {"immutable": True}, "copy(x.txt)"),
        # --modify-window widens the tolerance
        (f(mtime=T), f(mtime=T + S // 2), {"modify_window_ns": S},
         "skip(x.txt: same size and modtime)"),
    ],
)
def test_need_transfer(src: Entry, dst: Entry | None, kw: dict[str, object], expected: str) -> None:
    assert decide(src, dst, **kw) == expected


def test_one_second_destination_precision() -> None:
    # 0.4 s apart: equal on a 1 s backend, different on a 1 ns one
    assert decide(f(), f(mtime=T + 400_000_000), dst_f=ONE_SEC) == "skip(x.txt: same size and modtime)"
    assert decide(f(md5=MD5A), f(mtime=T + 400_000_000, md5=MD5B)) == "copy(x.txt)"
    # 1 s apart is outside the window (|dt| < W)
    assert decide(f(md5=MD5A), f(mtime=T + S, md5=MD5B), dst_f=ONE_SEC) == "copy(x.txt)"


def test_modtime_not_supported_means_size_only() -> None:
    assert decide(f(md5=MD5A), f(mtime=T + 99 * S, md5=MD5B), dst_f=NO_MTIME) == \
        "skip(x.txt: same size (modtimes not comparable))"
    assert decide(f(size=1), f(size=2), dst_f=NO_MTIME) == "copy(x.txt)"


def test_no_common_hash_default_mode_transfers_on_mtime_difference() -> None:
    src = f(md5=MD5A)
    dst = f(mtime=T + S, sha1="c" * 40)
    assert decide(src, dst, dst_f=SHA1_ONLY) == "copy(x.txt)"
    # equal mtimes: skipped
    assert decide(src, f(sha1="c" * 40), dst_f=SHA1_ONLY) == "skip(x.txt: same size and modtime)"
    # --refresh-times: no hash, but fix the modtime instead of re-uploading
    assert decide(src, dst, dst_f=SHA1_ONLY, refresh_times=True) == "update_modtime(x.txt)"


def test_no_common_hash_with_checksum_falls_back_to_size_only_with_notice() -> None:
    ctx = Context.build(SyncOptions(checksum=True), NS, SHA1_ONLY)
    assert ctx.checksum_fallback
    action = decide_file(f(md5=MD5A), f(mtime=T + 5 * S), ctx)
    assert action.kind == "skip"
    assert action.notices == (CHECKSUM_FALLBACK_NOTICE,)
    # a size difference is still caught
    assert decide_file(f(size=1), f(size=2), ctx).kind == "copy"


def test_destination_that_cannot_set_modtimes_in_place_reuploads() -> None:
    ctx = Context.build(SyncOptions(), NS, NS, frozenset())
    action = decide_file(f(md5=MD5A), f(md5=MD5A, mtime=T + 1), ctx)
    assert str(action) == "copy(x.txt)"
    assert action.notices == (FORCED_UPLOAD_NOTICE,)


@pytest.mark.parametrize(
    ("dst_mtime", "kw", "expected"),
    [
        (T + 2 * S, {}, "skip(x.txt: destination is newer than source)"),
        # dst older, same size and same hash: modtime fixed, no transfer
        (T - 2 * S, {}, "update_modtime(x.txt)"),
        # within the window: size-only compare
        (T, {}, "skip(x.txt: same size)"),
    ],
)
def test_update(dst_mtime: int, kw: dict[str, object], expected: str) -> None:
    assert decide(f(md5=MD5A), f(mtime=dst_mtime, md5=MD5A), update=True, **kw) == expected


def test_update_older_destination_different_content_transfers() -> None:
    assert decide(f(md5=MD5A), f(mtime=T - 2 * S, md5=MD5B), update=True) == "copy(x.txt)"
    # no hash to prove equality → transfer
    assert decide(f(), f(mtime=T - 2 * S), update=True, src_f=NO_HASH) == "copy(x.txt)"


def test_update_with_unsupported_modtimes_uses_one_second() -> None:
    # W is the sentinel → W' = 1 s; dst newer by 2 s is skipped
    assert decide(f(), f(mtime=T + 2 * S), update=True, dst_f=NO_MTIME) == \
        "skip(x.txt: destination is newer than source)"


def test_immutable_error_is_no_retry() -> None:
    ctx = Context.build(SyncOptions(immutable=True), NS, NS)
    action = decide_file(f(size=1), f(size=2), ctx)
    assert isinstance(action.error, NoRetryError)


def test_hash_decision_redone_with_fetched_hashes() -> None:
    ctx = Context.build(SyncOptions(), NS, NS)
    assert decide_file(f(), f(mtime=T + 1), ctx).kind == "hash"
    # after fetching: an empty hash means unknown → re-upload
    assert str(decide_file(f(md5=""), f(mtime=T + 1, md5=MD5A), ctx, hashed=True)) == "copy(x.txt)"


def test_name_problems() -> None:
    feats = Features(restricted_chars=":*", max_name_length=5)
    assert name_problem("ok/fine", feats) is None
    assert "too long" in str(name_problem("dir/toolong", feats))
    assert "can't store" in str(name_problem("a:b", feats))


# -- whole-tree planning (march + planner, no backend) -------------------------------------------

def plan_tree(src: list[Entry], dst: list[Entry], mode: str = "sync", *, backup: bool = False,
              src_f: Features = NS, dst_f: Features = NS, **opts: object) -> list[str]:
    """Plan a one-directory tree: every action string, deletions and dir work included."""
    o = SyncOptions(**opts)  # type: ignore[arg-type]
    ctx = Context.build(o, src_f, dst_f)
    planner = Planner(ctx, mode, backup=backup)  # type: ignore[arg-type]
    key = make_key(fold_case=dst_f.case_insensitive or o.ignore_case_sync)
    out: list[str] = []
    for pair in merge_listings(src, dst, key):
        action = planner.pair(pair.src, pair.dst)
        if action is not None:
            out.append(str(action))
    out += [str(a) for a in planner.deletions()]
    out += [str(a) for a in planner.prune_actions()]
    out += [str(a) for a in planner.mkdir_actions()]
    return out


def d(path: str) -> Entry:
    return Entry(path, True)


def test_sync_plan_deletes_after_and_prunes_dst_only_dirs() -> None:
    src = [f("a", md5=MD5A), f("new"), d("srcdir")]
    dst = [f("a", md5=MD5A), f("gone"), d("old"), d("old/deeper")]
    assert plan_tree(src, dst) == [
        "skip(a: same size and modtime)", "copy(new)", "delete(gone)",
        "rmdir(old/deeper/)", "rmdir(old/)",
    ]


def test_copy_plan_never_deletes() -> None:
    assert plan_tree([f("a")], [f("gone"), d("old")], mode="copy") == ["copy(a)"]


def test_delete_during_plans_delete_inline() -> None:
    assert plan_tree([f("a")], [f("a"), f("gone")], delete_mode="during") == [
        "skip(a: same size and modtime)", "delete(gone)"]


def test_delete_during_holds_deletes_until_the_source_shows_a_file() -> None:
    """So that a source with no files at all is announced before anything goes."""
    o = SyncOptions(delete_mode="during")
    planner = Planner(Context.build(o, NS, NS), "sync")
    assert planner.pair(None, f("early")) is None
    assert [e.path for e in planner.held_deletes] == ["early"]
    assert planner.pair(f("b"), None) is not None  # (a copy)
    assert [str(a) for a in planner.release_held_deletes()] == ["delete(early)"]
    assert planner.held_deletes == []
    assert str(planner.pair(None, f("late"))) == "delete(late)"


def test_backup_dir_turns_deletes_and_overwrites_into_backups() -> None:
    src = [f("a", size=1)]
    dst = [f("a", size=2), f("gone")]
    assert plan_tree(src, dst, backup=True) == ["copy(a)+backup", "backup(gone)"]


def test_move_plan() -> None:
    src = [f("same", md5=MD5A), f("new"), f("fix", md5=MD5A)]
    dst = [f("same", md5=MD5A), f("fix", md5=MD5A, mtime=T + 1)]
    assert plan_tree(src, dst, mode="move") == [
        "update_modtime(fix)+delete_src", "move(new)", "skip(same: same size and modtime)+delete_src",
    ]
    # --ignore-existing keeps the skipped source
    assert plan_tree([f("same")], [f("same")], mode="move", ignore_existing=True) == [
        "skip(same: destination exists)"]


def test_create_empty_src_dirs() -> None:
    assert plan_tree([d("empty")], [], create_empty_src_dirs=True) == ["mkdir(empty/)"]
    assert plan_tree([d("empty")], []) == []


def test_file_and_dir_with_same_name_do_not_pair() -> None:
    pairs = merge_listings([f("x")], [d("x")], make_key())
    assert [(p.src is not None, p.dst is not None) for p in pairs] == [(True, False), (False, True)]
    assert plan_tree([f("x")], [d("x")]) == ["copy(x)", "rmdir(x/)"]


def test_case_insensitive_destination_matches_names() -> None:
    ci = Features(hashes=frozenset({"md5"}), case_insensitive=True)
    assert plan_tree([f("Hello.txt")], [f("hello.txt")], dst_f=ci) == [
        "skip(Hello.txt: same size and modtime)"]
    # case-sensitive: copy + delete
    assert plan_tree([f("Hello.txt")], [f("hello.txt")]) == ["copy(Hello.txt)", "delete(hello.txt)"]
    # --ignore-case-sync matches on a case-sensitive dst too
    assert plan_tree([f("Hello.txt")], [f("hello.txt")], ignore_case_sync=True) == [
        "skip(Hello.txt: same size and modtime)"]


def test_unicode_normalisation() -> None:
    nfd = "e\u0301.txt"
    nfc = "\u00e9.txt"
    pairs = merge_listings([f(nfd)], [f(nfc)], make_key())
    assert len(pairs) == 1 and isinstance(pairs[0], Pair)
    assert pairs[0].dst is not None and pairs[0].dst.path == nfc  # the dst keeps its name
    assert len(merge_listings([f(nfd)], [f(nfc)], make_key(normalize=False))) == 2


def test_duplicates_are_reported_and_dropped() -> None:
    seen: list[tuple[str, str]] = []
    pairs = merge_listings([f("a"), f("a", size=3), f("A")], [], make_key(fold_case=True),
                           on_src_duplicate=lambda kept, dropped: seen.append((kept.name, dropped.name)))
    assert len(pairs) == 1
    assert sorted(seen) == [("A", "a"), ("A", "a")]


def test_merge_is_sorted_by_key() -> None:
    pairs = merge_listings([f("b"), f("a"), f("c")], [f("c"), f("d")], make_key())
    assert [p.path for p in pairs] == ["a", "b", "c", "d"]
