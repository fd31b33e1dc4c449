"""``sync --track-renames`` (issue 8, point 2), compared with the pinned rclone.

Each scenario renames or moves files between the source and an older copy of it on the
destination; the trees (bytes and mtimes: a renamed file keeps the destination's mtime), the
exit codes, the transfers/deletes/checks counters and the ``renames`` counter must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import F, Scenario, compare, describe, rclone_command, run_scenario

pytestmark = pytest.mark.skipif(rclone_command() is None, reason="rclone binary not installed")

S = 1_000_000_000
T0 = 1_600_000_000 * S
BIG = F(b"renamed contents " * 40, T0)
OTHER = F(b"z" * len(BIG.data), T0 + 7 * S)  # same size as BIG, other bytes and mtime

SCENARIOS: list[Scenario] = []


def add(sc: Scenario, renames: int) -> None:
    SCENARIOS.append(sc)
    RENAMES[sc.name] = renames


RENAMES: dict[str, int] = {}

# hash (the default): a file moved to another folder and renamed is moved, not re-copied
add(Scenario("track_renames_hash", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames"),),
             src={"new/place.txt": BIG, "keep.txt": F(b"keep", T0), "fresh.txt": F(b"fresh", T0)},
             dst={"old/name.txt": BIG, "keep.txt": F(b"keep", T0), "gone.txt": F(b"gone!", T0)},
             expect_dst={"new/place.txt": BIG, "keep.txt": F(b"keep", T0),
                         "fresh.txt": F(b"fresh", T0)},
             expect_stats={"renames": 1, "transfers": 1, "deletes": 1}), 1)
# hash with equal sizes but other contents: no rename, a copy and a delete
add(Scenario("track_renames_hash_no_match", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames"),),
             src={"b.txt": BIG}, dst={"a.txt": OTHER},
             expect_dst={"b.txt": BIG}, expect_stats={"renames": 0, "transfers": 1}), 0)
# modtime: size and modtime agree (the contents are not looked at)
add(Scenario("track_renames_modtime", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames",
                    "--track-renames-strategy", "modtime"),),
             src={"b.txt": F(b"z" * len(BIG.data), T0)}, dst={"a.txt": BIG},
             expect_dst={"b.txt": BIG}, expect_stats={"renames": 1, "transfers": 0}), 1)
# modtime: same size, other modtime: copied instead
add(Scenario("track_renames_modtime_no_match", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames",
                    "--track-renames-strategy", "modtime"),),
             src={"b.txt": BIG}, dst={"a.txt": OTHER},
             expect_dst={"b.txt": BIG}, expect_stats={"renames": 0}), 0)
# leaf: same name in another folder (with the hash too), a different name is not matched
add(Scenario("track_renames_leaf_hash", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames",
                    "--track-renames-strategy", "leaf,hash"),),
             src={"to/name.txt": BIG, "to/other.txt": F(b"x" * 9, T0)},
             dst={"from/name.txt": BIG, "from/else.txt": F(b"x" * 9, T0)},
             expect_dst={"to/name.txt": BIG, "to/other.txt": F(b"x" * 9, T0)},
             expect_stats={"renames": 1, "transfers": 1}), 1)
# leaf alone: name and size decide, whatever the contents
add(Scenario("track_renames_leaf", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames", "--track-renames-strategy", "leaf"),),
             src={"to/name.txt": OTHER}, dst={"from/name.txt": BIG},
             expect_dst={"to/name.txt": BIG}, expect_stats={"renames": 1}), 1)
# --dry-run: the rename is reported and counted, nothing changes
add(Scenario("track_renames_dry_run", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames", "--dry-run"),),
             src={"b.txt": BIG}, dst={"a.txt": BIG},
             expect_dst={"a.txt": BIG}, expect_stats={"renames": 1}), 1)
# only for sync: copy ignores it (and says so)
add(Scenario("track_renames_ignored_by_copy", "8.2",
             cmds=(("copy", "src", "dst", "--track-renames"),),
             src={"b.txt": BIG}, dst={"a.txt": BIG},
             expect_dst={"a.txt": BIG, "b.txt": BIG}, expect_stats={"renames": 0}), 0)
# --delete-before can't be combined with it: a fatal error, nothing changes
add(Scenario("track_renames_with_delete_before", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames", "--delete-before"),),
             src={"b.txt": BIG}, dst={"a.txt": BIG}, expect_rc=7,
             expect_dst={"a.txt": BIG}), 0)
# --delete-during is turned into --delete-after
add(Scenario("track_renames_with_delete_during", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames", "--delete-during"),),
             src={"b.txt": BIG}, dst={"a.txt": BIG},
             expect_dst={"b.txt": BIG}, expect_stats={"renames": 1}), 1)
# an unknown strategy is an error of the run (exit 1)
add(Scenario("track_renames_unknown_strategy", "8.2",
             cmds=(("sync", "src", "dst", "--track-renames", "--track-renames-strategy", "nope",
                    "--retries", "1"),),
             src={"b.txt": BIG}, dst={"a.txt": BIG}, expect_rc=1,
             expect_dst={"a.txt": BIG}), 0)


@pytest.mark.parametrize("sc", [pytest.param(sc, id=sc.name) for sc in SCENARIOS])
def test_track_renames_matches_rclone(sc: Scenario, tmp_path: Path) -> None:
    ref, got = run_scenario(sc, tmp_path)
    if got is None:
        return
    problems = compare(sc, ref, got)
    want = RENAMES[sc.name]
    for tool, res in (("rclone", ref), ("cloudsync", got)):
        renames = (res.runs[-1].stats or {}).get("renames", 0)
        if renames != want:
            problems.append(f"{tool}: renames = {renames}, expected {want}")
    assert not problems, "\n".join(problems) + "\n" + describe(ref, got)
