"""Commands end to end through click (in-process), incl. exit codes and bad input (item 8)."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import T1, write


def _bucket() -> str:
    return f":memory:t{uuid.uuid4().hex[:10]}"


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


# ------------------------------------------------------------------------------ config commands


def test_config_create_show_dump_delete(cs: Any, config_path: Path) -> None:
    r = cs("config", "create", "mem", "memory", "precision=1s", "hashes", "md5")
    assert r.code == 0, r.err
    assert "[mem]" in r.out and "precision = 1s" in r.out
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    r = cs("config", "dump")
    assert json.loads(r.out) == {"mem": {"hashes": "md5", "precision": "1s", "type": "memory"}}
    assert r.out.startswith('{\n    "mem": {\n        "hashes"')
    r = cs("config", "update", "mem:", "precision=1ms")
    assert "precision = 1ms" in cs("config", "show", "mem").out
    # rclone: `config create` on an existing name updates it, keys merged, exit 0
    r = cs("config", "create", "mem", "memory", "case_insensitive=true")
    assert r.code == 0, r.err
    assert json.loads(cs("config", "dump").out) == {"mem": {
        "case_insensitive": "true", "hashes": "md5", "precision": "1ms", "type": "memory"}}
    assert cs("listremotes").out == "mem:\n"
    assert cs("listremotes", "--long").out == "mem: memory\n"
    r = cs("listremotes", "--json")
    assert r.out == '[\n{"name":"mem","type":"memory","source":"file","description":""}\n]\n'
    assert str(config_path) in cs("config", "file").out
    assert cs("config", "delete", "mem").code == 0
    assert cs("listremotes").out == ""


def test_config_create_bad_input_exit_2(cs: Any, config_path: Path) -> None:
    r = cs("config", "create", "bad:name", "memory")
    assert r.code == 2 and "invalid characters" in r.err
    r = cs("config", "create", " lead", "memory")
    assert r.code == 2
    r = cs("config", "create", "ok", "nosuchtype")
    assert r.code == 2 and 'couldn\'t find backend for type "nosuchtype"' in r.err
    r = cs("config", "create", "ok", "memory", "nosuchkey=1")
    assert r.code == 2
    assert not config_path.exists()  # nothing written


def test_listremotes_includes_environment(cs: Any, config_path: Path) -> None:
    r = cs("listremotes", "--json", env={"CLOUDSYNC_CONFIG_ENVMEM_TYPE": "memory"})
    assert json.loads(r.out) == [{"name": "envmem", "type": "memory", "source": "environment", "description": ""}]
    r = cs("ls", "envmem:nothing-here", env={"CLOUDSYNC_CONFIG_ENVMEM_TYPE": "memory"})
    assert r.code == 3


def test_config_secret_redaction(cs: Any, config_path: Path, fail_keyring: None) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text("[j]\ntype = memory\ntoken = {\"refresh_token\":\"abc%def\"}\n")
    assert "abc%def" not in cs("config", "show").out
    assert "abc%def" not in cs("config", "dump").out
    assert "abc%def" in cs("config", "show", "--show-secrets").out


def test_wizard_generic_flow(cs: Any, config_path: Path) -> None:
    # n)ew, name, type memory (by value), precision, hashes, case_insensitive(no), set_modtime,
    # disable, advanced? no, keep? yes, then q)uit
    answers = "n\nwiz\nmemory\n" + "\n" * 12 + "y\nq\n"
    r = cs("config", input=answers)
    assert r.code == 0, r.out + r.err
    assert "[wiz]" in config_path.read_text()
    assert "type = memory" in config_path.read_text()


# ------------------------------------------------------------------------------ bad input (item 8)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ls", "nope:x"], 1, 'didn\'t find section in config file ("nope")'),
        (["ls", "remote,k='x:y"], 1, "unterminated quoted config value"),
        (["ls", ":nosuch:x"], 1, 'didn\'t find backend called "nosuch"'),
        (["copy", "only-one-arg"], 2, "Missing argument"),
        (["nosuchcommand"], 2, "No such command"),
        (["ls", "--nosuchflag", "x"], 2, "No such option"),
    ],
)
def test_bad_input_one_line(cs: Any, args: list[str], code: int, needle: str) -> None:
    r = cs(*args)
    assert r.code == code
    assert needle in r.err
    assert "Traceback" not in r.err + r.out
    if code == 1:
        assert len(r.err.strip().splitlines()) == 1


def test_corrupt_config_one_line_exit_1(cs: Any, config_path: Path, tmp_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text("garbage without section\n")
    before = config_path.read_bytes()
    r = cs("ls", str(tmp_path))
    assert r.code == 1
    assert "couldn't parse config file" in r.err and len(r.err.strip().splitlines()) == 1
    assert config_path.read_bytes() == before


def test_missing_source_exit_3_changes_nothing(cs: Any, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    write(dst / "keep.txt", b"keep", T1)
    before = _snapshot(dst)
    r = cs("sync", str(tmp_path / "missing"), str(dst), "--retries", "1")
    assert r.code == 3
    assert _snapshot(dst) == before
    assert "Traceback" not in r.err


def test_destination_inside_source_exit_7(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a.txt", b"a", T1)
    before = _snapshot(src)
    r = cs("sync", str(src), "local:" + str(src / "inner"))
    assert r.code == 7
    assert "overlapping" in r.err
    assert _snapshot(src) == before


def test_copy_to_existing_file_is_error(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a.txt", b"a", T1)
    target = tmp_path / "file.txt"
    write(target, b"x", T1)
    r = cs("copy", str(src), str(target))
    assert r.code == 1 and "is a file not a directory" in r.err
    assert target.read_bytes() == b"x"


def test_name_destination_cannot_hold(cs: Any) -> None:
    bucket = _bucket()
    r = cs("rcat", f"{bucket}/ok.txt", input=b"a")
    assert r.code == 0
    # memory declares NUL restricted: a name with NUL cannot be stored
    r = cs("rcat", f"{bucket}/bad\x00name", input=b"a")
    assert r.code != 0 and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ sync family


def test_sync_then_check_between_folder_and_local(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "folder"
    write(src / "a.txt", b"hello", T1)
    write(src / "sub" / "b.txt", b"world", T1)
    dst = tmp_path / "backup"
    r = cs("sync", str(src), f"local:{dst}")
    assert r.code == 0, r.err
    assert (dst / "sub" / "b.txt").read_bytes() == b"world"
    r = cs("check", str(src), f"local:{dst}")
    assert r.code == 0, r.err
    (dst / "a.txt").write_bytes(b"changed!")
    r = cs("check", str(src), f"local:{dst}")
    assert r.code == 1
    assert "1 differences found" in r.err


def test_global_flags_after_subcommand_and_json_log(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "s"
    write(src / "a.txt", b"hello", T1)
    r = cs("copy", str(src), str(tmp_path / "d"), "-v", "--use-json-log")
    assert r.code == 0
    lines = [json.loads(line) for line in r.err.splitlines()]
    copied = [x for x in lines if x.get("msg", "").startswith("Copied")]
    assert copied and copied[0]["object"] == "a.txt" and copied[0]["level"] == "info"
    assert list(copied[0])[:3] == ["time", "level", "msg"]
    stats = [x for x in lines if "stats" in x]
    assert stats and stats[-1]["stats"]["transfers"] == 1


def test_dry_run_changes_nothing_and_prints_stats(cs: Any, tmp_path: Path) -> None:
    src = tmp_path / "s"
    write(src / "a.txt", b"hello", T1)
    r = cs("copy", "--dry-run", str(src), str(tmp_path / "d"))
    assert r.code == 0
    assert not (tmp_path / "d").exists()
    assert "Skipped copy as --dry-run is set" in r.err
    assert "Transferred:" in r.err


def test_copyto_and_moveto(cs: Any, tmp_path: Path) -> None:
    write(tmp_path / "one.txt", b"1", T1)
    assert cs("copyto", str(tmp_path / "one.txt"), str(tmp_path / "two.txt")).code == 0
    assert (tmp_path / "two.txt").read_bytes() == b"1"
    assert cs("moveto", str(tmp_path / "two.txt"), str(tmp_path / "three.txt")).code == 0
    assert not (tmp_path / "two.txt").exists() and (tmp_path / "three.txt").exists()
    r = cs("copyto", str(tmp_path / "missing.txt"), str(tmp_path / "x.txt"), "--retries", "1")
    assert r.code == 3


def test_env_flag_and_backend_flag(cs: Any, tmp_path: Path) -> None:
    bucket = _bucket()
    assert cs("rcat", f"{bucket}/f", input=b"x").code == 0
    r = cs("lsjson", bucket, "--memory-precision", "1s")
    assert r.code == 0, r.err
    assert "." not in json.loads(r.out)[0]["ModTime"]
    r = cs("copy", str(tmp_path), bucket + "x", env={"CLOUDSYNC_TRANSFERS": "0"})
    assert r.code == 2  # env value validated like the flag


# ------------------------------------------------------------------------------ other commands


def test_mkdir_rmdir_purge_delete(cs: Any) -> None:
    bucket = _bucket()
    assert cs("mkdir", f"{bucket}/a/b").code == 0
    assert cs("lsf", "-R", bucket).out == "a/\na/b/\n"
    assert cs("rmdir", f"{bucket}/a").code != 0  # not empty
    assert cs("rmdir", f"{bucket}/a/b").code == 0
    cs("rcat", f"{bucket}/a/f1", input=b"1")
    cs("rcat", f"{bucket}/a/f2.jpg", input=b"2")
    assert cs("delete", bucket, "--include", "*.jpg").code == 0
    assert cs("lsf", "-R", bucket).out == "a/\na/f1\n"
    assert cs("deletefile", f"{bucket}/a/f1").code == 0
    assert cs("rmdirs", bucket, "--leave-root").code == 0
    assert cs("lsf", "-R", bucket).out == ""
    cs("rcat", f"{bucket}/z/f", input=b"1")
    assert cs("purge", f"{bucket}/z").code == 0
    assert cs("ls", f"{bucket}/z").code == 3


def test_rcat_and_cat(cs: Any) -> None:
    bucket = _bucket()
    assert cs("rcat", f"{bucket}/dir/file.bin", input=b"\x00\x01binary").code == 0
    r = cs("cat", f"{bucket}/dir/file.bin")
    assert r.result.stdout_bytes == b"\x00\x01binary"


def test_about_backend_features_version_completion(cs: Any) -> None:
    bucket = _bucket()
    r = cs("about", bucket)
    assert r.code in (0, 1)
    if r.code == 0:
        assert all(line.split(":")[0] in {"Total", "Used", "Free", "Trashed", "Other", "Objects"}
                   for line in r.out.splitlines())
        json.loads(cs("about", bucket, "--json").out)
    features = json.loads(cs("backend", "features", bucket).out)
    assert features["Type"] == "memory" and "copy" in features["Features"]
    assert cs("version").out.startswith("cloudsync v")
    assert "cloudsync v" in cs("--version").out
    r = cs("completion", "bash")
    assert "_CLOUDSYNC_COMPLETE" in r.out


def test_about_unlimited(cs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.backends import memory

    from cloudsync.types import Usage

    monkeypatch.setattr(memory.MemoryBackend, "about", lambda self: Usage(total=-1, used=2048, free=-1))
    r = cs("about", _bucket())
    assert r.out == "Total:   unlimited\nUsed:    2 KiB\nFree:    unlimited\n"
    assert cs("about", "--full", _bucket()).out.splitlines()[1] == "Used:    2048"
    assert json.loads(cs("about", "--json", _bucket()).out) == {"used": 2048, "unlimited": True}


def test_link_and_cleanup_unsupported_are_clear(cs: Any, tmp_path: Path) -> None:
    write(tmp_path / "f", b"x", T1)
    r = cs("link", str(tmp_path / "f"))
    assert r.code == 1 and "doesn't support public links" in r.err
    r = cs("cleanup", str(tmp_path))
    assert r.code == 1 and "doesn't support cleanup" in r.err


def test_serve_is_lazy_and_mounted(cs: Any) -> None:
    r = cs("serve", "--help")
    assert r.code == 0
    assert "jottacloud" in r.out


def test_verbose_env_var(cs: Any, tmp_path: Path) -> None:
    write(tmp_path / "s" / "a", b"a", T1)
    r = cs("copy", str(tmp_path / "s"), str(tmp_path / "d"), env={"CLOUDSYNC_VERBOSE": "1"})
    assert "INFO  : a: Copied (" in r.err


def test_log_file(cs: Any, tmp_path: Path) -> None:
    write(tmp_path / "s" / "a", b"a", T1)
    log_file = tmp_path / "log.txt"
    r = cs("copy", "-v", "--log-file", str(log_file), str(tmp_path / "s"), str(tmp_path / "d"))
    assert r.code == 0 and r.err == ""
    assert "INFO  : a: Copied (" in log_file.read_text()


def test_secrets_never_logged(tmp_path: Path) -> None:
    import logging

    from cloudsync.log import redact, setup_logging

    assert "abc" not in redact("Authorization: Bearer abc")
    assert "xyz" not in redact('{"access_token": "xyz", "refresh_token":"xyz"}')
    assert "pw1" not in redact("https://h/login?user=a&password=pw1")
    log_file = tmp_path / "l.txt"
    handler = setup_logging(logging.DEBUG, log_file=str(log_file))
    try:
        logging.getLogger("cloudsync.test").error("refreshing with token=%s", "leaky")
        logging.getLogger("cloudsync.test").debug("header Authorization: Bearer leaky2")
    finally:
        logging.getLogger("cloudsync").removeHandler(handler)
        handler.close()
    text = log_file.read_text()
    assert "refreshing with token=XXX" in text
    assert "leaky" not in text


def test_unexpected_exception_is_one_line_unless_vv(cs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.cli import cmd_list

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cmd_list, "list_remote", boom)
    r = cs("ls", str(tmp_path))
    assert r.code == 1
    assert "bug in cloudsync" in r.err and "kaboom" in r.err
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1
    r = cs("ls", "-vv", str(tmp_path))
    assert "Traceback" in r.err


def test_failed_command_names_subcommand(cs: Any, config_path: Path) -> None:
    r = cs("config", "delete", "nothere")
    assert r.code == 1
    assert "Failed to config delete:" in r.err


def test_about_details_unlimited(cs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.backends import memory

    monkeypatch.setattr(memory.MemoryBackend, "about_details",
                        lambda self: {"unlimited": True, "total": None, "used": 10, "free": None,
                                      "trashed": 0}, raising=False)
    assert cs("about", _bucket()).out == "Total:   unlimited\nUsed:    10 B\nTrashed: 0 B\n"


def test_check_argument_order_and_reports(cs: Any, tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    write(src / "only_src.txt", b"s", T1)
    write(src / "same.txt", b"same", T1)
    write(dst / "same.txt", b"same", T1)
    report = tmp_path / "missing_on_dst.txt"
    r = cs("check", str(src), str(dst), "--missing-on-dst", str(report))
    assert r.code == 1
    assert report.read_text().splitlines() == ["only_src.txt"]
    # one-way: files only on the destination do not count
    write(dst / "only_dst.txt", b"d", T1)
    (src / "only_src.txt").unlink()
    assert cs("check", "--one-way", str(src), str(dst)).code == 0


def test_local_copies_are_counted_and_logged_as_rclone_does(cs: Any, rtree: Path, tmp_path: Path) -> None:
    # local→local runs in the kernel, but rclone streams local copies: "Copied (new)" /
    # "Copied (replaced existing)", plain transfers, no "Server Side Copies" line
    dst = tmp_path / "d"
    r = cs("sync", str(rtree), f"local:{dst}", "-v")
    assert r.code == 0, r.err
    assert "Transferred:   \t         72 B / 72 B, 100%" in r.err
    assert "Transferred:            3 / 3, 100%\n" in r.err
    assert "Server Side" not in r.err
    assert "potato2: Copied (new)" in r.err and "server-side" not in r.err
    (rtree / "potato2").write_bytes(b"+" * 61)
    r = cs("sync", str(rtree), f"local:{dst}", "-v")
    assert "potato2: Copied (replaced existing)" in r.err
    r = cs("sync", str(rtree), f"local:{tmp_path / 'j'}", "-v", "--use-json-log")
    stats = json.loads(r.err.strip().splitlines()[-1])["stats"]
    assert {k: stats[k] for k in ("bytes", "totalBytes", "serverSideCopies",
                                  "serverSideCopyBytes", "transfers", "totalTransfers")} == {
        "bytes": 73, "totalBytes": 73, "serverSideCopies": 0, "serverSideCopyBytes": 0,
        "transfers": 3, "totalTransfers": 3}


def test_server_side_move_stats_are_truthful(cs: Any, rtree: Path, tmp_path: Path) -> None:
    dst = tmp_path / "d"
    # (a filter rules out the one-call directory move: file by file, each a rename)
    r = cs("move", str(rtree / "sub dir"), f"local:{dst}", "-v", "--include", "*")
    assert r.code == 0, r.err
    assert "Transferred:   \t         11 B / 11 B, 100%" in r.err
    assert "Server Side Moves:      1 @ 11 B\n" in r.err


def test_copyto_a_directory_is_copy(cs: Any, rtree: Path, tmp_path: Path) -> None:
    # rclone §A.1: a directory SOURCE makes copyto a copy (backups included)
    dst = tmp_path / "d"
    write(dst / "potato2", b"old", T1)
    r = cs("copyto", str(rtree), str(dst), "--backup-dir", str(tmp_path / "bk"))
    assert r.code == 0, r.err
    assert (dst / "potato2").read_bytes() == b"-" * 60
    assert (dst / "sub dir" / "hello world").read_bytes() == b"hello world"
    assert (tmp_path / "bk" / "potato2").read_bytes() == b"old"
    assert (rtree / "potato2").exists()  # a copy: the source stays
    # into a sub-directory under a new name, and a second run has nothing to do
    r = cs("copyto", str(rtree / "sub dir"), f"local:{tmp_path / 'n' / 'renamed'}", "-v")
    assert r.code == 0 and (tmp_path / "n" / "renamed" / "hello world").exists()
    r = cs("copyto", str(rtree / "sub dir"), f"local:{tmp_path / 'n' / 'renamed'}", "-v")
    assert r.code == 0 and "There was nothing to transfer" in r.err


def test_copyto_directory_onto_a_file_and_file_onto_dir_slash(cs: Any, rtree: Path,
                                                               tmp_path: Path) -> None:
    write(tmp_path / "afile", b"keep", T1)
    r = cs("copyto", str(rtree), str(tmp_path / "afile"))
    assert r.code == 1
    assert "Source doesn't exist or is a directory and destination is a file" in r.err
    assert (tmp_path / "afile").read_bytes() == b"keep"
    # "out/" names a directory: no file called "out" appears
    r = cs("copyto", str(rtree / "potato2"), str(tmp_path / "out") + "/")
    assert r.code == 1 and "is a directory" in r.err
    assert not (tmp_path / "out").exists()


def test_copyto_file_honours_backup_dir(cs: Any, rtree: Path, tmp_path: Path) -> None:
    write(tmp_path / "d" / "p.txt", b"old", T1)
    r = cs("copyto", str(rtree / "potato2"), str(tmp_path / "d" / "p.txt"),
           "--backup-dir", str(tmp_path / "bk"))
    assert r.code == 0, r.err
    assert (tmp_path / "bk" / "p.txt").read_bytes() == b"old"
    assert (tmp_path / "d" / "p.txt").read_bytes() == b"-" * 60


def test_dir_modtimes_copied_unless_no_update_dir_modtime(cs: Any, rtree: Path,
                                                          tmp_path: Path) -> None:
    import os

    when = 1_500_000_000_000_000_000
    os.utime(rtree / "sub dir", ns=(when, when))
    r = cs("copy", str(rtree), str(tmp_path / "a"), "-v")
    assert r.code == 0 and "sub dir: Set directory modification time" in r.err
    assert os.stat(tmp_path / "a" / "sub dir").st_mtime_ns == when
    r = cs("copy", str(rtree), str(tmp_path / "b"), "--no-update-dir-modtime")
    assert r.code == 0 and os.stat(tmp_path / "b" / "sub dir").st_mtime_ns != when
    r = cs("backend", "features", str(tmp_path / "a"))
    assert '"set_dir_modtime": true' in r.out
