"""Command outputs against rclone's recorded outputs for the same fixture tree (§D.2, §D.5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MD5_DASH = "336d5ebc5436534e61d16e63ddfca327"
MD5_60 = "d6548b156ea68a4e003e786df99eee76"
MD5_HELLO = "5eb63bbbe01eeed093cb22bb8f5acdc3"


def test_ls(cs: Any, rtree: Path) -> None:
    r = cs("ls", str(rtree))
    assert r.code == 0, r.err
    assert r.out == "        1 empty space\n       60 potato2\n       11 sub dir/hello world\n"


def test_lsl(cs: Any, rtree: Path) -> None:
    r = cs("lsl", str(rtree))
    assert r.out == (
        "        1 2011-12-25 12:59:59.123456789 empty space\n"
        "       60 2001-02-03 04:05:06.499999999 potato2\n"
        "       11 2001-02-03 04:05:06.499999999 sub dir/hello world\n"
    )


def test_lsd(cs: Any, rtree: Path) -> None:
    r = cs("lsd", str(rtree))
    lines = r.out.splitlines()
    assert [line[:13] for line in lines] == [f"{4096:>12d} "] * 2 or all(len(line) > 40 for line in lines)
    # `%12d %s %9d %s`: size, time, count (-1), name
    assert [line[13 + 19 :] for line in lines] == [f" {-1:>9d} emptydir", f" {-1:>9d} sub dir"]


def test_lsf_recursive(cs: Any, rtree: Path) -> None:
    r = cs("lsf", "-R", str(rtree))
    assert r.out == "empty space\nemptydir/\npotato2\nsub dir/\nsub dir/hello world\n"


def test_lsf_format_tsph(cs: Any, rtree: Path) -> None:
    r = cs("lsf", "--format", "tsph", "-R", str(rtree))
    lines = r.out.splitlines()
    assert lines[0] == f"2011-12-25 12:59:59;1;empty space;{MD5_DASH}"
    assert lines[1].endswith(";-1;emptydir/;")
    assert lines[2] == f"2001-02-03 04:05:06;60;potato2;{MD5_60}"
    assert lines[3].endswith(";-1;sub dir/;")
    assert lines[4] == f"2001-02-03 04:05:06;11;sub dir/hello world;{MD5_HELLO}"


def test_lsf_csv(cs: Any, rtree: Path) -> None:
    r = cs("lsf", "--csv", "--format", "ps", "-R", str(rtree))
    assert r.out.splitlines()[:2] == ["empty space,1", "emptydir/,-1"]
    r = cs("lsf", "--csv", "--format", "p", str(rtree), "--separator", ",")
    assert r.out.splitlines()[0] == "empty space"


def test_lsf_files_dirs_only_and_not_recursive(cs: Any, rtree: Path) -> None:
    assert cs("lsf", str(rtree)).out == "empty space\nemptydir/\npotato2\nsub dir/\n"
    assert cs("lsf", "--files-only", "-R", str(rtree)).out == "empty space\npotato2\nsub dir/hello world\n"
    assert cs("lsf", "--dirs-only", "-R", str(rtree)).out == "emptydir/\nsub dir/\n"


def test_md5sum_sha1sum(cs: Any, rtree: Path) -> None:
    r = cs("md5sum", str(rtree))
    assert sorted(r.out.splitlines()) == sorted([
        f"{MD5_HELLO}  sub dir/hello world", f"{MD5_DASH}  empty space", f"{MD5_60}  potato2",
    ])
    r = cs("sha1sum", str(rtree))
    assert sorted(r.out.splitlines()) == sorted([
        "9dc7f7d3279715991a22853f5981df582b7f9f6d  potato2",
        "3bc15c8aae3e4124dd409035f32ea2fd6835efc9  empty space",
        "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed  sub dir/hello world",
    ])
    r = cs("hashsum", "MD5", str(rtree), "--download")
    assert f"{MD5_60}  potato2" in r.out.splitlines()


def test_size(cs: Any, rtree: Path) -> None:
    assert cs("size", str(rtree)).out == "Total objects: 3\nTotal size: 72 B (72 Byte)\n"
    assert cs("size", str(rtree), "--json").out == '{"count":3,"bytes":72,"sizeless":0}\n'


def test_cat_flags(cs: Any, rtree: Path) -> None:
    assert cs("cat", str(rtree / "potato2"), "--offset", "5", "--count", "3").out == "---"
    assert cs("cat", str(rtree / "potato2"), "--tail", "4").out == "----"
    assert cs("cat", str(rtree / "potato2"), "--head", "2").out == "--"
    assert cs("cat", str(rtree), "--include", "*space", "--separator", "|").out == "-|"
    assert cs("cat", str(rtree), "--discard").out == ""


def test_tree(cs: Any, rtree: Path) -> None:
    assert cs("tree", str(rtree)).out == (
        "/\n├── empty space\n├── emptydir\n├── potato2\n└── sub dir\n    └── hello world\n"
        "\n2 directories, 3 files\n"
    )


def test_lsjson_framing_and_fields(cs: Any, rtree: Path) -> None:
    r = cs("lsjson", "-R", "--hash", str(rtree))
    assert r.code == 0
    assert r.out.startswith("[\n{") and r.out.endswith("}\n]\n")
    body = r.out[2:-3].split(",\n")
    items = [json.loads(x) for x in body]
    by_path = {i["Path"]: i for i in items}
    assert list(by_path["potato2"]) == ["Path", "Name", "Size", "MimeType", "ModTime", "IsDir", "Hashes"]
    assert by_path["potato2"]["ModTime"] == "2001-02-03T04:05:06.499999999Z"
    assert by_path["empty space"]["ModTime"] == "2011-12-25T12:59:59.123456789Z"
    assert by_path["sub dir/hello world"]["Name"] == "hello world"
    assert by_path["sub dir/hello world"]["Hashes"]["md5"] == MD5_HELLO
    assert by_path["sub dir"]["IsDir"] is True and "Hashes" not in by_path["sub dir"]
    assert by_path["sub dir"]["MimeType"] == "inode/directory"
    # one compact object per line
    assert all(": " not in line for line in body)


def test_lsjson_options(cs: Any, rtree: Path, tmp_path: Path) -> None:
    r = cs("lsjson", "--no-modtime", "--no-mimetype", "--files-only", str(rtree))
    items = json.loads(r.out)
    assert {i["Path"] for i in items} == {"empty space", "potato2"}
    assert all(i["ModTime"] == "" and "MimeType" not in i for i in items)
    r = cs("lsjson", "--dirs-only", str(rtree))
    assert {i["Path"] for i in json.loads(r.out)} == {"emptydir", "sub dir"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cs("lsjson", str(empty)).out == "[\n]\n"
    # a file path lists just that file, Path = its name
    items = json.loads(cs("lsjson", str(rtree / "potato2")).out)
    assert [i["Path"] for i in items] == ["potato2"]


def test_lsjson_stat(cs: Any, rtree: Path) -> None:
    r = cs("lsjson", "--stat", str(rtree / "potato2"))
    assert r.out.startswith('{\n\t"Path": "potato2",\n\t"Name": "potato2",\n\t"Size": 60,')
    assert json.loads(r.out)["ModTime"] == "2001-02-03T04:05:06.499999999Z"
    missing = cs("lsjson", "--stat", str(rtree / "nope"))
    assert missing.code in (3, 4)


def test_lsjson_missing_dir_exit_3(cs: Any, tmp_path: Path) -> None:
    r = cs("lsjson", str(tmp_path / "missing"))
    assert r.code == 3
    assert r.out == "[\n"
    assert "Traceback" not in r.err


def test_memory_modtime_precision(cs: Any) -> None:
    r = cs("rcat", ":memory,precision=1ms:prec/f.txt", input=b"abc")
    assert r.code == 0, r.err
    items = json.loads(cs("lsjson", ":memory,precision=1ms:prec").out)
    mod = items[0]["ModTime"]
    assert mod.endswith("Z") and len(mod.split(".")[1]) == 4  # 3 digits + Z
