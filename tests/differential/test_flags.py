"""The rclone flags scripts rely on (issue 8, point 2), each compared with the pinned rclone.

Tree scenarios go through the differential harness (same fixture, same command line, the
trees, exit codes and counters must agree); transfer *order* is compared on the ``Copied``
lines of ``-v``.  Ordering and cutoff runs use ``--check-first --transfers 1`` so that both
tools are deterministic.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .harness import (
    ABSENT,
    F,
    Scenario,
    _tool_env,
    build_tree,
    cloudsync_command,
    compare,
    describe,
    rclone_command,
    run_scenario,
)

RCLONE = rclone_command()
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")

S = 1_000_000_000
T0 = 1_600_000_000 * S
#: five files: f1 is the smallest, the oldest and the first by name, f5 the opposite
FIVE = {f"f{i}.bin": F(bytes([48 + i]) * (i * 1000), T0 + i * S) for i in range(1, 6)}
ORDERED = ("--check-first", "--transfers", "1", "--order-by", "size,descending")

SCENARIOS: list[Scenario] = []


def add(sc: Scenario) -> None:
    SCENARIOS.append(sc)


def _only(*names: str) -> dict[str, F]:
    return {n: FIVE[n] for n in names}


# --max-transfer with --cutoff-mode (biggest first: f5 = 5000 B, f4 = 4000 B, …)
add(Scenario("max_transfer_hard_stops_the_transfer_that_reaches_it", "8.2",
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "9000B"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin")))
add(Scenario("max_transfer_hard_lets_a_transfer_end_below_it", "8.2",
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "9001B",
                    "--cutoff-mode", "hard"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin", "f4.bin")))
add(Scenario("max_transfer_soft_finishes_the_running_transfer", "8.2",
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "8999B",
                    "--cutoff-mode", "soft"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin", "f4.bin")))
add(Scenario("max_transfer_cautious_never_starts_what_would_pass_it", "8.2",
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "14001B",
                    "--cutoff-mode", "cautious"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin", "f4.bin", "f3.bin", "f2.bin")))
add(Scenario("max_transfer_cautious_stops_at_the_first_refusal", "8.2",
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "9000B",
                    "--cutoff-mode", "cautious"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin")))
add(Scenario("max_transfer_counts_kib_without_a_suffix", "8.2",
             # 9 = 9 KiB = 9216 bytes (rclone's SizeSuffix): f5 + f4 fit, f3 is cut
             cmds=(("copy", "src", "dst", *ORDERED, "--max-transfer", "9"),),
             src=FIVE, expect_rc=8, expect_dst=_only("f5.bin", "f4.bin")))
add(Scenario("max_transfer_sync_deletes_nothing_after_the_cutoff", "8.2",
             cmds=(("sync", "src", "dst", *ORDERED, "--max-transfer", "8999B",
                    "--cutoff-mode", "soft"),),
             src=FIVE, dst={"extra.txt": F(b"keep me", T0)}, expect_rc=8,
             expect_dst={**_only("f5.bin", "f4.bin"), "extra.txt": F(b"keep me", T0)}))
add(Scenario("max_transfer_copyto_one_file_over_the_limit", "8.2",
             cmds=(("copyto", "src/f5.bin", "dst/new.bin", "--max-transfer", "4000B"),),
             # rclone has made the destination folder already (the partial file is removed)
             src=FIVE, expect_rc=8, expect_dst={}))
add(Scenario("max_transfer_not_reached_is_a_plain_copy", "8.2",
             cmds=(("copy", "src", "dst", "--max-transfer", "1M", "--cutoff-mode", "cautious"),),
             src=FIVE, expect_rc=0, expect_dst=FIVE))

# --max-duration
for mode in ("hard", "soft", "cautious"):
    add(Scenario(f"max_duration_over_before_anything_started_{mode}", "8.2",
                 cmds=(("copy", "src", "dst", "--max-duration", "1ns", "--cutoff-mode", mode),),
                 src=FIVE, expect_rc=10, expect_dst=ABSENT, compare_stats=False))
add(Scenario("max_duration_not_reached_is_a_plain_copy", "8.2",
             cmds=(("copy", "src", "dst", "--max-duration", "1h"),),
             src=FIVE, expect_rc=0, expect_dst=FIVE))

# --order-by / --check-first
add(Scenario("order_by_unknown_key_is_fatal", "8.2",
             cmds=(("copy", "src", "dst", "--order-by", "colour"),),
             src=FIVE, expect_rc=7, expect_dst=ABSENT, compare_stats=False))
add(Scenario("order_by_unknown_direction_is_fatal", "8.2",
             cmds=(("copy", "src", "dst", "--order-by", "size,sideways"),),
             src=FIVE, expect_rc=7, expect_dst=ABSENT, compare_stats=False))
add(Scenario("order_by_mixed_bad_fraction_is_fatal", "8.2",
             cmds=(("copy", "src", "dst", "--order-by", "size,mixed,x"),),
             src=FIVE, expect_rc=7, expect_dst=ABSENT, compare_stats=False))
add(Scenario("order_by_mixed_negative_fraction_is_a_bad_string", "8.2",
             cmds=(("copy", "src", "dst", "--order-by", "size,mixed,-5"),),
             src=FIVE, expect_rc=7, expect_dst=ABSENT, compare_stats=False))
for _order in ("size,mixed", "size,mixed,75", "name,mixed,10"):
    # concurrent workers at both ends: the start order is not deterministic, the outcome is
    add(Scenario(f"order_by_{_order.replace(',', '_')}_sync_same_outcome", "8.2",
                 cmds=(("sync", "src", "dst", "--transfers", "2", "--order-by", _order),),
                 src={**FIVE, "sub/s.txt": F(b"s", T0)}, dst={"f1.bin": F(b"old", T0), "gone": F(b"x", T0)},
                 expect_dst={**FIVE, "sub/s.txt": F(b"s", T0)}, expect_stats={"transfers": 6, "deletes": 1}))
add(Scenario("check_first_copies_the_same", "8.2",
             cmds=(("sync", "src", "dst", "--check-first"),),
             src=FIVE, dst={"f1.bin": F(b"old", T0), "gone.txt": F(b"x", T0)},
             expect_dst=FIVE, expect_stats={"transfers": 5, "deletes": 1}))

# --no-traverse: the destination is looked up file by file, the outcome is a plain copy's
_NT_DST = {"f1.bin": F(b"old", T0), "f2.bin": FIVE["f2.bin"], "other/x.txt": F(b"x", T0)}
for verb in ("copy", "move"):
    add(Scenario(f"no_traverse_{verb}_same_outcome", "8.2",
                 cmds=((verb, "src", "dst", "--no-traverse"),),
                 src={**FIVE, "sub/s.txt": F(b"s", T0)}, dst=_NT_DST,
                 expect_dst={**FIVE, "sub/s.txt": F(b"s", T0), "other/x.txt": F(b"x", T0)}))
add(Scenario("no_traverse_ignored_by_sync", "8.2",
             cmds=(("sync", "src", "dst", "--no-traverse"),),
             src=FIVE, dst=_NT_DST, expect_dst=FIVE))

# --compare-dest: a = equal in cmp (dst differs), b = differs in cmp, c = equal in dst,
# d = same bytes in cmp with another modtime, e = only in cmp, z = only in dst
_CD_SRC = {"a": F(b"aaa", T0), "b": F(b"bbb", T0), "c": F(b"ccc", T0), "d": F(b"same", T0)}
_CD_DST = {"a": F(b"old", T0 + 5 * S), "c": F(b"ccc", T0), "z": F(b"zz", T0)}
_CD_CMP = {"cmp/a": F(b"aaa", T0), "cmp/b": F(b"BBB", T0 - 9 * S), "cmp/d": F(b"same", T0 - 9 * S),
           "cmp/e": F(b"e", T0)}
add(Scenario("compare_dest_copy", "8.2", cmds=(("copy", "src", "dst", "--compare-dest", "cmp"),),
             src=_CD_SRC, dst=_CD_DST, extra=_CD_CMP,
             expect_dst={**_CD_DST, "b": F(b"bbb", T0)}))
add(Scenario("compare_dest_sync", "8.2", cmds=(("sync", "src", "dst", "--compare-dest", "cmp"),),
             src=_CD_SRC, dst=_CD_DST, extra=_CD_CMP,
             expect_dst={"a": F(b"old", T0 + 5 * S), "b": F(b"bbb", T0), "c": F(b"ccc", T0)}))
add(Scenario("compare_dest_move", "8.2", cmds=(("move", "src", "dst", "--compare-dest", "cmp"),),
             src=_CD_SRC, dst=_CD_DST, extra=_CD_CMP,
             expect_dst={**_CD_DST, "b": F(b"bbb", T0)}, expect_src={"d": F(b"same", T0)}))
add(Scenario("compare_dest_dry_run", "8.2",
             cmds=(("copy", "src", "dst", "--compare-dest", "cmp", "--dry-run"),),
             src=_CD_SRC, dst=_CD_DST, extra=_CD_CMP, expect_dst=_CD_DST))


@pytest.mark.parametrize("sc", [pytest.param(sc, id=sc.name) for sc in SCENARIOS])
def test_flag_matches_rclone(sc: Scenario, tmp_path: Path) -> None:
    ref, got = run_scenario(sc, tmp_path)
    if got is None:
        return
    problems = compare(sc, ref, got)
    assert not problems, "\n".join(problems) + "\n" + describe(ref, got)


_COPIED = re.compile(r"INFO  : (\S+): Copied")


def _copied_order(tmp_path: Path, name: str, cmd: list[str], *args: str) -> list[str]:
    work = tmp_path / name
    build_tree(work / "src", FIVE)
    proc = subprocess.run([*cmd, *args], cwd=work, env=_tool_env(tmp_path / f"{name}-home"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return _COPIED.findall(proc.stderr)


@pytest.mark.parametrize("order", ["size,descending", "size,ascending", "size", "name,desc",
                                   "name,asc", "modtime,descending", "modtime",
                                   # one worker is worker 0 (0 %): the bottom unless N is 0
                                   "size,mixed", "size,mixed,0", "name,mixed,25", "modtime,mixed,0",
                                   "SIZE,Mixed,+100"])
def test_order_by_transfers_in_rclones_order(order: str, tmp_path: Path) -> None:
    assert RCLONE is not None
    args = ("copy", "src", "dst", "-v", "--check-first", "--transfers", "1", "--order-by", order)
    want = _copied_order(tmp_path, "rclone", RCLONE, *args)
    got = _copied_order(tmp_path, "cloudsync", cloudsync_command(), *args)
    assert len(want) == 5
    assert got == want


def _run(tmp_path: Path, name: str, cmd: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    work = tmp_path / name
    if not work.exists():
        build_tree(work / "src", {**FIVE, "big.bin": F(b"b" * 2_000_000, T0)})
    return subprocess.run([*cmd, *args], cwd=work, env=_tool_env(tmp_path / f"{name}-home"),
                          capture_output=True, text=True, timeout=120)


def _both(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    assert RCLONE is not None
    return _run(tmp_path, "rclone", RCLONE, *args), _run(tmp_path, "cloudsync", cloudsync_command(), *args)


@pytest.mark.parametrize("cmd", ["ls", "lsl"])
def test_human_readable_sizes_as_rclone(cmd: str, tmp_path: Path) -> None:
    want, got = _both(tmp_path, cmd, "src", "--human-readable")
    assert want.returncode == got.returncode == 0, got.stderr
    # the size column (lsl's time column depends on the local time zone of the run)
    sizes = [line[:9] for line in want.stdout.splitlines()]
    assert "  1.907Mi" in sizes and "     1000" in sizes
    assert sorted(line[:9] for line in got.stdout.splitlines()) == sorted(sizes)
    if cmd == "ls":
        assert sorted(got.stdout.splitlines()) == sorted(want.stdout.splitlines())


_LEVEL = re.compile(r"^\S+ \S+ (\w+)\s*:\s*$", re.M)


@pytest.mark.parametrize("flags", [("--stats-log-level", "NOTICE"), ("--stats-log-level", "ERROR", "-q"),
                                   ("-v", "--stats-log-level", "DEBUG"), ("-v",), ()])
def test_stats_log_level_as_rclone(flags: tuple[str, ...], tmp_path: Path) -> None:
    want, got = _both(tmp_path, "copy", "src", "dst", *flags)
    assert want.returncode == got.returncode == 0, got.stderr
    # the final stats block: shown or not, and at which level
    assert got.stderr.count("Transferred:") == want.stderr.count("Transferred:")
    assert _LEVEL.findall(got.stderr) == _LEVEL.findall(want.stderr)


@pytest.mark.parametrize("value", ["100K", "100K:100K", "1M:100K", "off", "Mon-00:00,100K",
                                   "23:59,100K", "08:00,1M 07:00,2M", "bogus", "10K:"])
def test_bwlimit_accepts_and_reports_as_rclone(value: str, tmp_path: Path) -> None:
    want, got = _both(tmp_path, "copy", "src/f1.bin", "dst", "-v", "--bwlimit", value)
    assert got.returncode == want.returncode
    start = re.compile(r"Starting bandwidth limiter at (\S+) Byte/s")
    assert start.findall(got.stderr) == start.findall(want.stderr)


def test_bwlimit_paces_a_local_copy_like_rclone(tmp_path: Path) -> None:
    # 2,000,000 bytes at 1 MiB/s: at least 1.5 s for both (a lower bound: load cannot break it)
    import time

    for name, cmd in (("rclone", RCLONE), ("cloudsync", cloudsync_command())):
        assert cmd is not None
        t = time.monotonic()
        out = _run(tmp_path, name, cmd, "copy", "src/big.bin", "dst", "--bwlimit", "1M")
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - t >= 1.5, name
