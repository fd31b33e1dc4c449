"""Global flags of cron jobs, compared with the pinned rclone where the behaviour shows on local
folders: --log-format, --syslog(-facility), --stats-unit, --stats-file-name-length,
--no-check-dest, --metadata-set, --partial-suffix, --temp-dir, --cache-dir, --default-time."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from .harness import _tool_env, cloudsync_command, rclone_command

RCLONE = rclone_command()
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone binary not installed")
TOOLS = {"rclone": RCLONE or [], "cloudsync": cloudsync_command()}
T0 = 1_600_000_000 * 1_000_000_000


def _run(tool: str, tmp: Path, *args: str, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    full = {**_tool_env(tmp / f"{tool}-home"), **(env or {})}
    return subprocess.run([*TOOLS[tool], *args], cwd=tmp, env=full, capture_output=True,
                          text=True, timeout=120)


def _src(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    for name, data in (("a.txt", b"alpha"), ("b.txt", b"bravo!")):
        (src / name).write_bytes(data)
        os.utime(src / name, ns=(T0, T0))
    return src


# ----------------------------------------------------------------------------- --log-format


def _shape(line: str) -> str:
    """A log line's prefix with the variable parts generalised (the messages differ)."""
    head = line.split("ERROR : ")[0] + ("ERROR : " if "ERROR : " in line else "")
    head = re.sub(r"\S+\.(?:go|py):\d+: ", "FILE: ", head)
    return re.sub(r"\d", "9", head)


@pytest.mark.parametrize("fmt", ["date,time", "date", "time", "date,time,microseconds",
                                 "time,UTC", "pid", "date,pid,shortfile", "time,longfile",
                                 "microseconds", ""])
def test_log_format_lays_the_prefix_out_as_rclone(tmp_path: Path, fmt: str) -> None:
    shapes = {}
    for tool in TOOLS:
        r = _run(tool, tmp_path, "lsf", "missing-dir", "--log-format", fmt)
        assert r.returncode == 3, (tool, r.stderr)
        line = [x for x in r.stderr.splitlines() if "ERROR" in x][-1]
        shapes[tool] = _shape(line)
    assert shapes["cloudsync"] == shapes["rclone"]


def test_log_format_nolevel_and_json_and_bad_values(tmp_path: Path) -> None:
    r = _run("cloudsync", tmp_path, "lsf", "missing-dir", "--log-format", "nolevel")
    assert r.stderr.startswith("Failed to lsf: ")  # (only what was asked: no date either)
    r = _run("cloudsync", tmp_path, "lsf", "missing-dir", "--log-format", "json")
    assert r.stderr.startswith('{"time":') and '"level":"error"' in r.stderr
    r = _run("cloudsync", tmp_path, "lsf", "missing-dir",
             env={"CLOUDSYNC_LOG_FORMAT": "pid"})
    assert r.stderr.startswith("[") and "] ERROR : " in r.stderr
    for tool in TOOLS:
        r = _run(tool, tmp_path, "lsf", ".", "--log-format", "bogus")
        assert r.returncode != 0 and "bogus" in r.stderr, (tool, r.stderr)


# ----------------------------------------------------------------------------- --syslog


# (the socket stands in for /dev/log: a local datagram socket, no network)
@pytest.mark.block_network(allowed_hosts=[r".*/log\.sock", "127.0.0.1", "localhost", "::1"])
def test_syslog_sends_lines_with_the_facility(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from cloudsync import log as cslog
    from cloudsync.cli import cli

    address = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(5)
    monkeypatch.setattr(cslog, "SYSLOG_ADDRESS", address)
    try:
        runner = CliRunner()
        r = runner.invoke(cli, ["lsf", str(tmp_path / "missing"), "--syslog"])
        assert r.exit_code == 3
        got = server.recv(4096).decode()
        # DAEMON (3) * 8 + err (3) = <27>; the level stays in the text, no time stamp
        assert got.startswith("<27>") and "ERROR : " in got and "directory not found" in got, got
        r = runner.invoke(cli, ["lsf", str(tmp_path / "missing"), "--syslog",
                                "--syslog-facility", "local0", "-v"])
        lines = []
        while True:
            try:
                lines.append(server.recv(4096).decode())
            except TimeoutError:
                break
            if "directory not found" in lines[-1]:
                break
        assert lines[-1].startswith("<131>"), lines  # LOCAL0 (16) * 8 + err (3)
    finally:
        server.close()
        cslog.setup_logging()  # the CLI's handler: back to stderr


def test_syslog_errors_as_rclone(tmp_path: Path) -> None:
    r = _run("cloudsync", tmp_path, "lsf", ".", "--syslog", "--syslog-facility", "FOO")
    assert r.returncode == 1 and 'Unknown syslog facility "FOO" - man syslog for list' in r.stderr
    for tool in TOOLS:
        r = _run(tool, tmp_path, "lsf", ".", "--syslog", "--log-file", str(tmp_path / f"{tool}.log"))
        log_file = tmp_path / f"{tool}.log"
        text = r.stderr + (log_file.read_text() if log_file.exists() else "")
        assert r.returncode == 1 and "Can't use --syslog and --log-file together" in text, tool
    if not os.path.exists("/dev/log"):
        for tool in TOOLS:
            r = _run(tool, tmp_path, "lsf", ".", "--syslog")
            assert r.returncode == 1 and "Failed to start syslog" in r.stderr, (tool, r.stderr)


# ----------------------------------------------------------------------------- stats


def test_stats_unit_bits_and_file_name_length() -> None:
    from cloudsync.cli.formats import bit_rate, stats_text

    assert bit_rate(0) == "0 bit/s"
    assert bit_rate(1024 * 1024) == "8 Mibit/s"
    stats = {"bytes": 1 << 20, "totalBytes": 3 << 20, "speed": 1 << 20, "eta": 2.0,
             "transfers": 0, "totalTransfers": 1, "elapsedTime": 1.0}
    name = "a" * 71 + ".bin"
    text = stats_text(stats, transferring=[(name, 3 << 20, 1 << 20, float(1 << 20))],
                      name_width=10, bits=True)
    # rclone 1.75 with --stats-unit bits --stats-file-name-length 10: rates in bits, sizes not
    assert "Transferred:   \t        1 MiB / 3 MiB, 33%, 8 Mibit/s, ETA 2s" in text
    assert " * aaaaa….bin: 33% / 3 MiB, 8 Mibit/s, 2s" in text
    assert name in stats_text(stats, transferring=[(name, 3 << 20, 1 << 20, 1.0)], name_width=0)


def test_stats_unit_in_the_final_stats(tmp_path: Path) -> None:
    _src(tmp_path)
    for tool in TOOLS:
        r = _run(tool, tmp_path, "copy", "src", f"{tool}-dst", "-v", "--stats-unit", "bits")
        assert r.returncode == 0
        assert re.search(r"Transferred: +\t +11 B / 11 B, 100%, [\d.]+ [KMG]?i?bit/s", r.stderr), \
            (tool, r.stderr)
    r = _run("cloudsync", tmp_path, "copy", "src", "x", "--stats-unit", "nibbles")
    assert r.returncode == 2


# ----------------------------------------------------------------------------- --no-check-dest


def test_no_check_dest_copies_regardless(tmp_path: Path) -> None:
    _src(tmp_path)
    for tool in TOOLS:
        assert _run(tool, tmp_path, "copy", "src", f"{tool}-dst").returncode == 0
        (tmp_path / f"{tool}-dst" / "a.txt").write_bytes(b"changed on the destination")
        r = _run(tool, tmp_path, "copy", "src", f"{tool}-dst", "--no-check-dest", "-v")
        assert r.returncode == 0, (tool, r.stderr)
        copied = sorted(re.findall(r"INFO  : (\S+): Copied \(new\)", r.stderr))
        assert copied == ["a.txt", "b.txt"], (tool, r.stderr)
        assert (tmp_path / f"{tool}-dst" / "a.txt").read_bytes() == b"alpha"
        r = _run(tool, tmp_path, "sync", "src", f"{tool}-dst", "--no-check-dest", "--retries", "1")
        assert r.returncode == 1
        assert "can't use --no-check-dest with sync: use copy instead" in r.stderr


# ----------------------------------------------------------------------------- --metadata-set


def test_metadata_set_applies_with_metadata_only(tmp_path: Path) -> None:
    _src(tmp_path)
    for tool in TOOLS:
        base = ("copy", "src", f"{tool}-plain", "--metadata-set", "mode=100600")
        assert _run(tool, tmp_path, *base).returncode == 0
        r = _run(tool, tmp_path, "copy", "src", f"{tool}-meta", "-M", "--metadata-set",
                 "mode=100600", "--metadata-set", "mtime=2001-02-03T04:05:06Z")
        assert r.returncode == 0, (tool, r.stderr)
    for name in ("a.txt", "b.txt"):
        got = {}
        for tool in TOOLS:
            plain = (tmp_path / f"{tool}-plain" / name).stat()
            meta = (tmp_path / f"{tool}-meta" / name).stat()
            got[tool] = (oct(plain.st_mode & 0o777), oct(meta.st_mode & 0o777), meta.st_mtime_ns)
        assert got["cloudsync"] == got["rclone"]
        assert got["rclone"][1] == "0o600" and got["rclone"][2] == 981173106 * 1_000_000_000
    r = _run("cloudsync", tmp_path, "copy", "src", "x", "-M", "--metadata-set", "nokey")
    assert r.returncode == 2 and "key=value" in r.stderr


# ----------------------------------------------------------------------------- --partial-suffix


def test_partial_suffix_names_the_temporary_file(tmp_path: Path) -> None:
    from cloudsync.backends.local import LocalBackend

    from cloudsync.types import PutInfo

    seen: list[str] = []
    backend = LocalBackend("local", str(tmp_path / "dst"), partial_suffix=".tmpx")
    backend.mkdir("")

    class Stream:
        def __init__(self) -> None:
            self.parts = [b"hello ", b"world"]

        def read(self, n: int = -1) -> bytes:
            seen.extend(os.listdir(tmp_path / "dst"))
            return self.parts.pop(0) if self.parts else b""

    backend.put("f.txt", Stream(), PutInfo(size=11))
    assert any(re.fullmatch(r"\.f\.txt\.[0-9a-f]{8}\.tmpx", n) for n in seen), seen
    assert os.listdir(tmp_path / "dst") == ["f.txt"]
    # a leftover with that suffix (or the default one) is not listed
    (tmp_path / "dst" / seen[0]).write_bytes(b"left over")
    assert [e.path for e in backend.list("")] == ["f.txt"]


def test_partial_suffix_values(tmp_path: Path) -> None:
    _src(tmp_path)
    for tool in TOOLS:
        r = _run(tool, tmp_path, "copy", "src", "x", "--partial-suffix", ".abcdefghijklmnopqrstu")
        assert "Expecting suffix length not greater than 16 but got 22" in r.stderr, (tool, r.stderr)
        assert not (tmp_path / "x").exists()
    r = _run("cloudsync", tmp_path, "copy", "src", "ok", "--partial-suffix", ".part")
    assert r.returncode == 0 and sorted(os.listdir(tmp_path / "ok")) == ["a.txt", "b.txt"]
    r = _run("cloudsync", tmp_path, "copy", "src", "ok2", env={"CLOUDSYNC_PARTIAL_SUFFIX": ""})
    assert r.returncode == 0  # an empty variable is "not set"
    r = _run("cloudsync", tmp_path, "copy", "src", "ok3", "--partial-suffix", "")
    assert r.returncode == 2 and "non-empty suffix" in r.stderr


# ----------------------------------------------------------------------------- dirs, default time


def test_temp_dir_and_cache_dir(tmp_path: Path) -> None:
    temp, cache = tmp_path / "tmp", tmp_path / "cache"
    temp.mkdir()
    for tool in TOOLS:
        r = _run(tool, tmp_path, "config", "paths", "--temp-dir", str(temp), "--cache-dir", str(cache))
        assert f"Temp dir:    {temp}\n" in r.stdout and f"Cache dir:   {cache}\n" in r.stdout, tool
    r = _run("cloudsync", tmp_path, "config", "paths",
             env={"CLOUDSYNC_TEMP_DIR": str(temp), "CLOUDSYNC_CACHE_DIR": str(cache)})
    assert f"Temp dir:    {temp}\n" in r.stdout and f"Cache dir:   {cache}\n" in r.stdout
    # the hash cache lives in the cache dir
    _src(tmp_path)
    r = _run("cloudsync", tmp_path, "md5sum", "src", "--cache-dir", str(cache))
    assert r.returncode == 0 and (cache / "hashcache.sqlite").exists()
    r = _run("cloudsync", tmp_path, "hashcache", "stats", "--cache-dir", str(cache))
    assert f"{cache}/hashcache.sqlite" in r.stdout
    r = _run("cloudsync", tmp_path, "lsf", "src", "--temp-dir", str(tmp_path / "nope"))
    assert r.returncode == 1 and "--temp-dir: not a directory" in r.stderr


def test_default_time_for_unknown_modtimes(tmp_path: Path) -> None:
    from cloudsync.cli import formats
    from cloudsync.types import Entry

    assert formats.parse_default_time("2000-01-01T00:00:00Z") == formats.DEFAULT_TIME_NS
    assert formats.parse_default_time("2020-01-02") == 1577923200 * 1_000_000_000
    with pytest.raises(ValueError):
        formats.parse_default_time("bogus")
    old = formats.DEFAULT_TIME_NS
    try:
        assert formats.mtime_of(Entry("f", False, 1, None)) == old
        assert formats.mtime_of(Entry("d", True, 0, None)) is None  # a folder: the listing time
        assert formats.mtime_of(Entry("f", False, 1, 5)) == 5
    finally:
        formats.DEFAULT_TIME_NS = old
    for tool in TOOLS:
        r = _run(tool, tmp_path, "lsf", ".", "--default-time", "bogus")
        assert r.returncode != 0 and "bogus" in r.stderr, tool


def test_stats_one_line_date(tmp_path: Path) -> None:
    _src(tmp_path)
    shapes = {}
    for tool in TOOLS:
        for flag in (["--stats-one-line-date"],
                     ["--stats-one-line-date-format", '"2006-01-02 15:04"']):
            r = _run(tool, tmp_path, "copy", "src", f"{tool}-{len(flag)}", "-v", *flag)
            assert r.returncode == 0, (tool, r.stderr)
            last = r.stderr.strip().splitlines()[-1]
            # the stats line: the date, then the one-line stats (counters differ in the tail)
            shapes[(tool, len(flag))] = re.sub(r"\d", "9", last.split(" B / ")[0])
    for n in (1, 2):
        assert shapes[("cloudsync", n)] == shapes[("rclone", n)]
    assert shapes[("rclone", 2)].endswith('INFO  : "9999-99-99 99:99"         99')
