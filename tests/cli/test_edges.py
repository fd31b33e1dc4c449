"""Robust edges: names that are not UTF-8, FIFOs and devices as sources, a log file that cannot
be opened, an unreachable server, public links (files, folders, --expire)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BAD = b"bad\xff\xfename.txt"


def _run(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CLOUDSYNC_CONFIG": str(cwd / "cs.conf"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **env}
    return subprocess.run([sys.executable, "-m", "cloudsync", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout, errors="strict")


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def bad_names(tmp_path: Path) -> Path:
    src = tmp_path / "u"
    src.mkdir()
    with open(os.path.join(os.fsencode(src), BAD), "wb") as f:
        f.write(b"x")
    return src


def test_listings_are_valid_utf8_and_copies_keep_the_bytes(tmp_path: Path, bad_names: Path) -> None:
    # (errors="strict" in _run: output that is not UTF-8 fails the decode)
    r = _run("lsf", str(bad_names), cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "bad\ufffd\ufffdname.txt\n"
    r = _run("lsf", "-R", "--format", "psp", str(bad_names), cwd=tmp_path)
    assert r.stdout.startswith("bad\ufffd\ufffdname.txt;1;")
    r = _run("lsjson", str(bad_names), cwd=tmp_path)
    item = json.loads(r.stdout)[0]
    assert item["Path"] == item["Name"] == "bad\ufffd\ufffdname.txt"
    r = _run("copy", str(bad_names), str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert os.listdir(os.fsencode(tmp_path / "out")) == [BAD]


def test_lsjson_names_equal_rclones(tmp_path: Path, bad_names: Path) -> None:
    rclone = Path(sys.executable).parent / "rclone"
    if not rclone.exists():
        pytest.skip("rclone binary not installed")
    out = subprocess.run([str(rclone), "lsjson", str(bad_names), "--config", os.devnull],
                         capture_output=True, text=True, timeout=60)
    r = _run("lsjson", str(bad_names), cwd=tmp_path)
    assert [i["Name"] for i in json.loads(r.stdout)] == [i["Name"] for i in json.loads(out.stdout)]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", [("cat", "{src}"), ("copyto", "{src}", "{dst}")])
def test_a_fifo_or_device_source_is_refused_at_once(tmp_path: Path, command: tuple[str, ...]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for src in (str(fifo), "/dev/zero"):
        args = [a.format(src=src, dst=str(tmp_path / "copy")) for a in command]
        r = _run(*args, cwd=tmp_path, timeout=30)  # rclone waits for ever here
        line = _one_line(r.stderr)
        assert r.returncode == 6
        assert "not a regular file" in line
        assert ("FIFO" in line) == (src == str(fifo))
    assert not (tmp_path / "copy").exists()


def test_log_file_in_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "log.txt"
    r = _run("lsf", str(tmp_path), "--log-file", str(missing), cwd=tmp_path)
    line = _one_line(r.stderr)
    assert r.returncode == 1
    assert "Failed to open log file" in line and str(missing) in line and "create its folder" in line


def test_unreachable_server_is_one_line_naming_the_host(tmp_path: Path) -> None:
    token = ('{"access_token":"a","token_type":"Bearer","refresh_token":"r",'
             '"expiry":"2099-01-01T00:00:00Z"}')
    (tmp_path / "cs.conf").write_text(
        "[j]\ntype = jottacloud\njfs_url = http://127.0.0.1:9/jfs/\napi_url = http://127.0.0.1:9/\n"
        "token_url = http://127.0.0.1:9/token\nconfig_version = 1\nclient_id = jottacli\n"
        f"token = {token}\n")
    r = _run("lsd", "j:", cwd=tmp_path, timeout=120)
    line = _one_line(r.stderr)
    # rclone's JottaCloud fails to open the remote there: exit 1 (tests/server/test_rclone_edges)
    assert r.returncode == 1
    assert "connection refused by 127.0.0.1:9" in line
    assert "(" not in line.split("connection refused", 1)[0]  # no raw exception tuple


def test_tls_failure_names_the_reason_not_urllib3s_text() -> None:
    import ssl

    import requests
    from cloudsync.backends.jottacloud._http import tls_reason

    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                            "failed: self-signed certificate (_ssl.c:1006)")
    inner.verify_message = "self-signed certificate"
    exc = requests.exceptions.SSLError(
        Exception("HTTPSConnectionPool(host='x', port=443): Max retries exceeded", inner))
    exc.__context__ = inner
    assert tls_reason(exc) == "self-signed certificate"
    plain = requests.exceptions.SSLError("HTTPSConnectionPool(host='x', port=443): Max retries "
                                         "exceeded (Caused by SSLError(\"[SSL: WRONG_VERSION_"
                                         "NUMBER] wrong version number (_ssl.c:1006)\"))")
    assert tls_reason(plain) == "wrong version number"


def test_link_says_which_part_is_not_supported(cs: Any, tmp_path: Path, fail_keyring: None) -> None:
    testing = pytest.importorskip("cloudsync.jottaserver.testing")
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "a.txt").write_bytes(b"x")
    r = cs("link", ":memory:bucket")
    assert r.code != 0 and "doesn't support public links" in r.err
    with testing.JottaServer(user="testuser") as srv:
        r = cs("config", "create", "jotta", "jottacloud", f"login_token={srv.mint_login_token()}",
               f"jfs_url={srv.jfs_url}", f"api_url={srv.api_url}")
        assert r.code == 0, r.err
        assert cs("copy", str(tmp_path / "f"), "jotta:folder").code == 0
        file_link = cs("link", "jotta:folder/a.txt")
        folder_link = cs("link", "jotta:folder")  # folders can be shared on JottaCloud
        assert file_link.code == folder_link.code == 0, folder_link.err
        assert folder_link.out.startswith("https://") and folder_link.out != file_link.out
        r = cs("link", "--expire", "1h", "jotta:folder/a.txt")
        assert r.code != 0
        assert "--expire is not supported" in r.err and "doesn't support public links" not in r.err
        assert cs("link", "--unlink", "jotta:folder").code == 0

