"""Watch mode between local folders: a real watcher (watchdog) on temporary folders with short
delays; every wait polls with a deadline."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cloudsync.backends.local import LocalBackend

from cloudsync.engine.options import SyncOptions
from cloudsync.errors import PermissionDenied
from cloudsync.watch import Watcher, WatchOptions
from cloudsync.watch.changes import Changes, Move
from cloudsync.watch.loop import WatchGone

from .support import WatchProcess, old, wait_until, watching


def _files(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*")
            if p.is_file() and not p.name.endswith(".partial")}


def test_copy_watch_never_deletes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    with WatchProcess(["copy", str(src), str(dst), "--watch", "--watch-delay", "0.3s"],
                      tmp_path / "w.log") as w:
        wait_until(lambda: _files(dst) == {"a.txt": "a"}, 30, "initial copy", w.proc, w.log)
        (src / "b.txt").write_text("b")
        (src / "a.txt").unlink()
        wait_until(lambda: _files(dst).get("b.txt") == "b", 10, "new file", w.proc, w.log)
        (src / "b.txt").rename(src / "c.txt")
        wait_until(lambda: "c.txt" in _files(dst), 10, "renamed file", w.proc, w.log)
        assert set(_files(dst)) == {"a.txt", "b.txt", "c.txt"}  # nothing deleted
        assert w.stop(signal.SIGINT) == 0


def test_burst_of_files_is_few_passes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.5s", "-v"],
                      tmp_path / "w.log") as w:
        w.wait_for_log("Watch pass 1 ")
        for d in range(20):
            (src / f"d{d}").mkdir()
            for i in range(100):
                (src / f"d{d}" / f"f{i}").write_text(f"{d}-{i}")
        wait_until(lambda: len(_files(dst)) == 2000, 60, "2000 files", w.proc, w.log)
        assert w.stop() == 0
    passes = w.text().count("Watch pass ")
    assert passes <= 6, w.text()[-2000:]


def test_edited_ignore_file_takes_effect_without_restart(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / ".cloudsyncignore", "*.tmp\n")
    old(src / "sub/x.tmp", "scratch")
    old(src / "sub/y.txt", "y")
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.3s",
                       "--ignore-file", ".cloudsyncignore"], tmp_path / "w.log") as w:
        wait_until(lambda: "sub/y.txt" in _files(dst), 30, "initial pass", w.proc, w.log)
        assert "sub/x.tmp" not in _files(dst)
        (src / ".cloudsyncignore").write_text("*.txt\n")
        wait_until(lambda: "sub/x.tmp" in _files(dst), 10, "un-ignored file", w.proc, w.log)
        (src / "sub/z.txt").write_text("now ignored")
        (src / "sub/w.tmp").write_text("now synced")
        wait_until(lambda: "sub/w.tmp" in _files(dst), 10, "new file", w.proc, w.log)
        assert "sub/z.txt" not in _files(dst)
        assert "sub/y.txt" in _files(dst)  # ignored now, so never deleted
        assert w.stop() == 0


def test_watched_folder_deleted_stops_with_error_and_deletes_nothing(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    old(src / "d/b.txt", "b")
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.3s"],
                      tmp_path / "w.log") as w:
        wait_until(lambda: len(_files(dst)) == 2, 30, "initial pass", w.proc, w.log)
        subprocess.run(["rm", "-rf", str(src)], check=True)
        code = w.proc.wait(timeout=15)
    assert code != 0
    assert "watched folder disappeared" in w.text()
    assert _files(dst) == {"a.txt": "a", "d/b.txt": "b"}


def test_source_and_destination_must_not_overlap(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for args in ([str(tmp_path / "src"), str(tmp_path / "src" / "inner")],
                 [str(tmp_path / "src"), str(tmp_path)]):
        r = subprocess.run([sys.executable, "-m", "cloudsync", "sync", *args, "--watch"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "overlap" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "cloudsync", "copy", str(tmp_path / "nope"),
                        str(tmp_path / "d"), "--watch"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "local folder" in r.stderr


def test_dry_run_watch_changes_nothing(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    dst.mkdir()
    old(dst / "extra.txt", "x")
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.3s", "-n"],
                      tmp_path / "w.log") as w:
        w.wait_for_log("Skipped copy as --dry-run is set")
        (src / "b.txt").write_text("b")
        w.wait_for_log("Watch pass 2 ", timeout=10)
        assert w.stop() == 0
    assert _files(dst) == {"extra.txt": "x"}


class _Flaky(LocalBackend):
    """A source whose file ``locked.txt`` cannot be read for its first few attempts."""

    failures = 2

    def get(self, path: str, start: int = 0, end: int | None = None):  # type: ignore[no-untyped-def]
        if path == "locked.txt" and _Flaky.failures > 0:
            _Flaky.failures -= 1
            raise PermissionDenied("Permission denied", path=path)
        return super().get(path, start, end)


def test_unreadable_file_is_reported_and_retried(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "locked.txt", "secret")
    old(src / "ok.txt", "fine")
    caplog.set_level(logging.INFO, logger="cloudsync")
    w = Watcher(_Flaky("local", str(src)), LocalBackend("local", str(dst)), SyncOptions(),
                "sync", watch=WatchOptions(delay=0.2, tick=0.2))
    with watching(w):
        wait_until(lambda: _files(dst) == {"locked.txt": "secret", "ok.txt": "fine"}, 30,
                   "retried file")
    assert "locked.txt: Permission denied" in caplog.text
    assert "pass failed: retrying" in caplog.text


def test_changes_are_bounded_and_coalesced() -> None:
    c = Changes(limit=100)
    for i in range(50):
        c.dir_changed("d", float(i) / 100)
    assert c.pending == 1
    assert not c.take(0.6, 1.0, 60.0)  # still changing
    batch = c.take(1.6, 1.0, 60.0)
    assert batch.dirs == {"d"} and not batch.full
    for i in range(500):
        c.dir_changed(f"dir{i}", 2.0)
    assert c.pending == 1 and c.full_requested()  # forgot them all, re-scans instead
    assert c.take(2.0, 1.0, 60.0).full
    c.moved(Move("a/x", "b/x", False), 3.0)
    batch = c.take(4.1, 1.0, 60.0)
    assert batch.dirs == {"a", "b"} and batch.moves == [Move("a/x", "b/x", False)]
    # a folder that never goes quiet is still taken after max_wait
    for i in range(100):
        c.dir_changed("busy", 10.0 + i * 0.5)
    assert c.take(10.0 + 99 * 0.5, 1.0, 30.0).dirs == {"busy"}


def test_full_rescan_when_events_are_lost(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    w = Watcher(LocalBackend("local", str(src)), LocalBackend("local", str(dst)), SyncOptions(),
                "sync", watch=WatchOptions(delay=0.2, tick=0.1))
    with watching(w):
        wait_until(lambda: "a.txt" in _files(dst), 30, "first pass")
        before = w.passes
        w.changes.lost("test: queue overflow")
        wait_until(lambda: w.passes > before, 10, "re-scan pass")


def test_sigterm_during_a_long_transfer_exits_quickly(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.2s"],
                      tmp_path / "w.log") as w:
        w.wait_for_log("Watch pass 1 ")
        started = time.monotonic()
        assert w.stop() == 0
        assert time.monotonic() - started < 5


def test_json_log_has_one_record_per_pass(tmp_path: Path) -> None:
    import json

    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.3s",
                       "--use-json-log"], tmp_path / "w.log") as w:
        w.wait_for_log('"pass":1')
        (src / "b.txt").write_text("b")
        w.wait_for_log('"pass":2', timeout=10)
        assert w.stop() == 0
    records = [json.loads(line) for line in w.text().splitlines() if line.startswith("{")]
    passes = [r for r in records if "watch" in r]
    assert [r["watch"]["pass"] for r in passes] == [1, 2]
    assert passes[0]["watch"]["kind"] == "full" and passes[1]["watch"]["kind"] == "incremental"
    assert passes[0]["stats"]["transfers"] == 1 and passes[1]["stats"]["transfers"] == 1


def test_progress_shows_a_live_status_line(tmp_path: Path) -> None:
    import io

    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    old(src / "d/b.txt", "b")
    status = io.StringIO()
    w = Watcher(LocalBackend("local", str(src)), LocalBackend("local", str(dst)), SyncOptions(),
                "sync", watch=WatchOptions(delay=0.2, tick=0.1), status=status)
    with watching(w):
        wait_until(lambda: "last change synced at" in status.getvalue()
                   and "never" not in status.getvalue().rsplit("\r", 1)[-1], 30, "status line")
    last = status.getvalue().strip().rsplit("\r", 1)[-1]
    assert "Watching 2 files in 2 folders; queued 0; in flight 0" in last


@pytest.mark.parametrize("how", ["sleep", "watch-warning"])
def test_wake_from_sleep_or_a_failed_watch_rescans(tmp_path: Path, how: str,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from cloudsync.watch import loop

    caplog.set_level(logging.INFO, logger="cloudsync")
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    w = Watcher(LocalBackend("local", str(src)), LocalBackend("local", str(dst)), SyncOptions(),
                "sync", watch=WatchOptions(delay=0.2, tick=0.1))
    with watching(w):
        wait_until(lambda: "a.txt" in _files(dst), 30, "first pass")
        if how == "sleep":
            # the wall clock jumping ahead of the monotonic one is what a suspend looks like
            monkeypatch.setattr(loop, "SLEEP_JUMP_S", -1.0)
            reason = "the machine woke from sleep"
        else:
            # watchdog reports a dropped queue or a watch it could not add only in its log
            logging.getLogger("watchdog.observers.inotify_c").warning(
                "Inotify queue overflowed; filesystem events were lost")
            reason = "file system events lost"
        wait_until(lambda: reason in caplog.text, 10, "a full re-scan")


def test_usual_flags_keep_their_meaning_backup_dir_and_filters(tmp_path: Path) -> None:
    src, dst, old_dir = tmp_path / "src", tmp_path / "dst", tmp_path / "old"
    old(src / "a.txt", "a")
    old(src / "skip.log", "excluded")
    with WatchProcess(["sync", str(src), str(dst), "--watch", "--watch-delay", "0.3s",
                       "--backup-dir", str(old_dir), "--exclude", "*.log"], tmp_path / "w.log") as w:
        wait_until(lambda: "a.txt" in _files(dst), 30, "initial pass", w.proc, w.log)
        (src / "a.txt").unlink()
        wait_until(lambda: _files(old_dir) == {"a.txt": "a"}, 10, "backup of the deleted file",
                   w.proc, w.log)
        assert w.stop() == 0
    assert "skip.log" not in _files(dst) and "a.txt" not in _files(dst)


class _UnmountedDuringListing(LocalBackend):
    """A source whose folder is swapped for an empty one (what an unmount looks like: the
    bare mount point) while a full pass lists it, after the pass's own root check."""

    def __init__(self, name: str, root: str, armed: threading.Event) -> None:
        super().__init__(name, root)
        self.armed = armed
        self.swapped = False

    def list(self, path: str):  # type: ignore[no-untyped-def]
        if self.armed.is_set() and not self.swapped and path == "":
            self.swapped = True
            real = Path(self.root)
            real.rename(real.with_name("src-was-mounted"))
            real.mkdir()  # the empty mount point
        return super().list(path)


def test_folder_unmounted_during_a_pass_deletes_nothing(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    old(src / "a.txt", "a")
    old(src / "d/b.txt", "b")
    armed = threading.Event()
    backend = _UnmountedDuringListing("local", str(src), armed)
    backend.disable("list_recursive")  # the pass lists folder by folder, through list()
    w = Watcher(backend, LocalBackend("local", str(dst)), SyncOptions(), "sync",
                watch=WatchOptions(delay=0.2, tick=0.1))
    with watching(w) as t:
        wait_until(lambda: len(_files(dst)) == 2, 30, "first pass")
        armed.set()
        w.changes.lost("test: re-scan")  # the next pass lists the root again
        t.join(20)
    assert backend.swapped
    assert isinstance(w.exit_error, WatchGone)
    assert _files(dst) == {"a.txt": "a", "d/b.txt": "b"}  # nothing deleted
