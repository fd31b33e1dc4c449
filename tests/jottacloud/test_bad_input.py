"""Bad input through the CLI (issue item 7): one clear line, rclone's exit code, nothing lost,
and no secret in the output even with ``-vv``.

Exit codes (rclone's table, reference §D): 1 uncategorized (config/protocol problems),
3 directory not found, 6 no-retry error, 7 fatal (auth, quota).
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from cloudsync.backends.jottacloud._api import StoredToken

from cloudsync.errors import ExitCode
from cloudsync.jottaserver.testing import JottaServer

from .support import running_server

PASSWORD = "Pa55-not-in-logs"




@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    with running_server(password=PASSWORD) as server:
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_JFS_URL", server.jfs_url)
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_API_URL", server.api_url)
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_AUTH_BASE_URL", server.base_url)
        monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "cloudsync.conf"))
        yield server


def cs(*args: str, stdin: bytes | None = None) -> Result:
    from cloudsync.cli import cli

    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def problem_lines(r: Result) -> list[str]:
    """ERROR lines, less rclone's fixed retry summaries that follow a failed transfer."""
    boilerplate = ("Can't retry any of the errors", "Fatal error received - not attempting retries",
                   "Cancelling sync due to fatal error", "as there were IO errors",
                   "failed with 1 errors and:")
    return [line for line in r.stderr.splitlines()
            if " ERROR : " in line and not any(b in line for b in boilerplate)]


def assert_one_clear_line(r: Result, code: int, *needles: str) -> str:
    assert r.exit_code == code, (r.exit_code, r.output[-3000:])
    assert "Traceback" not in r.output
    lines = problem_lines(r)
    assert len(lines) == 1, r.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def secrets_of(tmp_path: Path, *extra: str) -> list[str]:
    """Every secret this account has in play: stored tokens, client secrets, the password."""
    out = [PASSWORD, *extra]
    conf = tmp_path / "cloudsync.conf"
    if conf.exists():
        for line in conf.read_text().splitlines():
            key, _, value = line.partition(" = ")
            if key == "token" and value:
                tok = StoredToken.from_json(value)
                out += [tok.access_token, tok.refresh_token]
            elif key == "client_secret" and value:
                out.append(value)
    return [s for s in out if s]


def assert_no_secret(r: Result, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in r.output, f"secret {secret[:6]}… in the output"


def make_remote(srv: JottaServer, name: str = "j") -> None:
    r = cs("config", "create", name, "jottacloud", f"login_token={srv.mint_login_token()}")
    assert r.exit_code == 0, r.output


def remotes(tmp_path: Path) -> str:
    conf = tmp_path / "cloudsync.conf"
    return conf.read_text() if conf.exists() else ""


def tree(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    root = tmp_path / name
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- login tokens


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("this is not a token", "not a JottaCloud personal login token"),
        (base64.urlsafe_b64encode(b"hello, not json").decode().rstrip("="), "not a JottaCloud personal login token"),
        (base64.urlsafe_b64encode(json.dumps({"username": "u"}).encode()).decode().rstrip("="),
         "login token lacks field(s): realm, well_known_link, auth_token"),
    ],
)
def test_login_token_not_base64_json(srv: JottaServer, tmp_path: Path, token: str, says: str) -> None:
    r = cs("config", "create", "x", "jottacloud", f"login_token={token}", "-vv")
    assert_one_clear_line(r, ExitCode.UNCATEGORIZED, says)
    assert_no_secret(r, [token])
    assert "[x]" not in remotes(tmp_path)  # nothing half-saved


def test_used_login_token(srv: JottaServer, tmp_path: Path) -> None:
    token = srv.mint_login_token()
    assert cs("config", "create", "first", "jottacloud", f"login_token={token}").exit_code == 0
    r = cs("config", "create", "second", "jottacloud", f"login_token={token}", "-vv")
    assert_one_clear_line(r, ExitCode.FATAL, "login token", "already used")
    assert_no_secret(r, secrets_of(tmp_path, token))
    assert "[second]" not in remotes(tmp_path) and "[first]" in remotes(tmp_path)


def test_revoked_refresh_token(srv: JottaServer, tmp_path: Path) -> None:
    from cloudsync.config import Config

    make_remote(srv)
    conf = str(tmp_path / "cloudsync.conf")
    old = Config.load(conf).get("j", "token")
    assert old
    srv.expire_access_tokens()
    assert cs("lsjson", "j:").exit_code == 0  # rotates the refresh token
    Config.load(conf).set_values("j", {"token": old})  # a stale copy of the config
    srv.expire_access_tokens()
    r = cs("lsjson", "-vv", "j:")
    assert_one_clear_line(r, ExitCode.FATAL, "Stale token", "cloudsync config reconnect j:")
    assert_no_secret(r, secrets_of(tmp_path, StoredToken.from_json(old).refresh_token))


# ---------------------------------------------------------------------------- hostile answers


def answer_instead(monkeypatch: pytest.MonkeyPatch, srv: JottaServer,
                   pick: Callable[[requests.PreparedRequest], tuple[int, str, bytes] | None]) -> list[str]:
    """Replace the server's answer for requests ``pick`` selects (a portal, a broken proxy)."""
    hijacked: list[str] = []
    real_send = requests.Session.send

    def send(self: requests.Session, req: requests.PreparedRequest, **kw: Any) -> Any:
        fake = pick(req) if str(req.url).startswith(srv.base_url) else None
        if fake is None:
            return real_send(self, req, **kw)
        hijacked.append(f"{req.method} {req.url}")
        resp = requests.Response()
        resp.status_code, ctype, body = fake
        resp.raw = io.BytesIO(body)  # streamed reads (liststream) and .content both work
        resp.headers["Content-Type"] = ctype
        resp.request, resp.url, resp.reason = req, str(req.url), "OK" if fake[0] < 300 else "Error"
        return resp

    monkeypatch.setattr(requests.Session, "send", send)
    return hijacked


PORTAL = b"<!DOCTYPE html><html><body><h1>Welcome to Hotel WiFi</h1><form>Accept terms</form></body></html>"


def test_html_captive_portal(srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_remote(srv)
    assert cs("copy", str(tree(tmp_path, "first", {"keep.txt": b"safe"})), "j:backup").exit_code == 0
    src = tree(tmp_path, "src", {"a.txt": b"new data", "b/c.txt": b"more"})
    before = snapshot(src)
    hijacked = answer_instead(monkeypatch, srv, lambda req: (200, "text/html; charset=utf-8", PORTAL))
    # The first request is the listing (no probe, account name cached), inside the command's
    # --retries loop: one attempt shows the one line each attempt prints.
    r = cs("copy", "-vv", "--retries", "1", str(src), "j:backup")
    line = assert_one_clear_line(r, ExitCode.UNCATEGORIZED, "HTML page", "captive portal")
    assert hijacked and "Hotel" not in r.output
    assert_no_secret(r, secrets_of(tmp_path))
    assert snapshot(src) == before  # source untouched
    assert set(srv.state.files()) == {"Jotta/Archive/backup/keep.txt"}  # destination untouched
    assert line.count("\n") == 0


def test_malformed_xml_listing_is_an_error_not_an_empty_folder(
    srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_remote(srv)
    assert cs("copy", str(tree(tmp_path, "up", {"x.txt": b"x", "y.txt": b"y"})), "j:backup").exit_code == 0
    # A local copy that `sync j:backup local` must NOT delete because the listing "looked empty".
    dst = tree(tmp_path, "dst", {"x.txt": b"x", "y.txt": b"y", "only-local.txt": b"precious"})
    before = snapshot(dst)

    seen: list[str] = []

    def broken_listing(req: requests.PreparedRequest) -> tuple[int, str, bytes] | None:
        if req.method == "GET" and "/Jotta/Archive/backup" in str(req.url):
            seen.append(str(req.url))
            if len(seen) > 1:  # the root probe passes; the listing itself arrives broken
                return 200, "text/xml;charset=UTF-8", b'<?xml version="1.0"?><folder name="backup"><files><file na'
        return None

    hijacked = answer_instead(monkeypatch, srv, broken_listing)
    r = cs("sync", "-vv", "--retries", "1", "j:backup", str(dst))
    assert hijacked and "mode=liststream" in hijacked[0]
    assert r.exit_code == ExitCode.UNCATEGORIZED, r.output[-2000:]
    assert_one_clear_line(r, ExitCode.UNCATEGORIZED, "not well-formed XML")
    assert snapshot(dst) == before  # nothing deleted, nothing overwritten
    assert_no_secret(r, secrets_of(tmp_path))
    seen.clear()
    r = cs("lsjson", "-R", "j:backup")
    assert_one_clear_line(r, ExitCode.UNCATEGORIZED, "not well-formed XML")


# ---------------------------------------------------------------------------- devices and mountpoints


def test_unknown_device_or_mountpoint_at_config_time(srv: JottaServer, tmp_path: Path) -> None:
    r = cs("config", "create", "d", "jottacloud", f"login_token={srv.mint_login_token()}", "device=Nope", "-vv")
    assert_one_clear_line(r, ExitCode.UNCATEGORIZED, 'no device "Nope"', "known devices: Jotta")
    r = cs("config", "create", "m", "jottacloud", f"login_token={srv.mint_login_token()}",
           "mountpoint=Photos", "-vv")
    assert_one_clear_line(r, ExitCode.UNCATEGORIZED, 'no mountpoint "Photos"', "Archive")
    assert_no_secret(r, secrets_of(tmp_path))
    assert "[d]" not in remotes(tmp_path) and "[m]" not in remotes(tmp_path)


def test_unknown_device_or_mountpoint_at_run_time(srv: JottaServer, tmp_path: Path) -> None:
    make_remote(srv)
    r = cs("lsjson", "--jottacloud-mountpoint", "Photos", "j:", "-vv")
    assert_one_clear_line(r, ExitCode.DIR_NOT_FOUND, 'device "Jotta" has no mountpoint "Photos"')
    r = cs("lsf", "-R", "--jottacloud-device", "Laptop", "j:", "-vv")
    assert_one_clear_line(r, ExitCode.DIR_NOT_FOUND, 'no device "Laptop"')
    assert_no_secret(r, secrets_of(tmp_path))


# ---------------------------------------------------------------------------- quota and names


def test_quota_exceeded(srv: JottaServer, tmp_path: Path) -> None:
    make_remote(srv)
    srv.set_capacity(1000)
    files = {f"f{i}.bin": os.urandom(400) for i in range(5)}
    src = tree(tmp_path, "src", files)
    r = cs("copy", "-vv", "--transfers", "1", str(src), "j:q")
    assert r.exit_code == ExitCode.FATAL, r.output[-2000:]
    assert_one_clear_line(r, ExitCode.FATAL, "QuotaExceeded", "the account is full")
    assert_no_secret(r, secrets_of(tmp_path))
    assert snapshot(src) == files  # nothing lost at the source
    stored = srv.state.files()
    assert stored, "the files that fit were copied"
    for path in stored:  # and every file there is whole – no partial uploads
        assert srv.state.read(path) == files[path.rsplit("/", 1)[1]], path
    listing = json.loads(cs("lsjson", "j:q").stdout)
    assert {i["Name"] for i in listing} == {p.rsplit("/", 1)[1] for p in stored}


def test_name_the_service_cannot_hold(srv: JottaServer, tmp_path: Path) -> None:
    make_remote(srv)
    long_name = "n" * 300
    r = cs("rcat", "-vv", f"j:names/{long_name}", stdin=b"data")
    assert_one_clear_line(r, ExitCode.NO_RETRY, "255")
    assert srv.state.files() == {}
    # In a copy, the one file is refused up front and everything else still arrives.
    assert cs("rcat", f":memory:bad-names/{long_name}", stdin=b"x").exit_code == 0
    assert cs("rcat", ":memory:bad-names/fine.txt", stdin=b"fine").exit_code == 0
    r = cs("copy", "-vv", ":memory:bad-names", "j:names")
    assert_one_clear_line(r, ExitCode.NO_RETRY, "255")
    assert srv.state.read("Jotta/Archive/names/fine.txt") == b"fine"
    assert_no_secret(r, secrets_of(tmp_path))


def test_revoked_token_of_an_on_the_fly_remote_advises_what_works(
        srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsync.config import Config

    make_remote(srv)
    conf = Config.load(str(tmp_path / "cloudsync.conf"))
    old, token_url = conf.get("j", "token"), conf.get("j", "token_url")
    assert old and token_url
    srv.expire_access_tokens()
    assert cs("lsjson", "j:").exit_code == 0  # rotates the refresh token: the old one is stale
    monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_TOKEN", old)
    monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_TOKEN_URL", token_url)
    srv.expire_access_tokens()
    r = cs("lsjson", ":jottacloud:")
    line = assert_one_clear_line(
        r, ExitCode.FATAL, "Stale token",
        'unset CLOUDSYNC_JOTTACLOUD_TOKEN, then save the remote with "cloudsync config create '
        'NAME jottacloud" and use NAME: instead')
    assert "config reconnect" not in line  # there is no config section to reconnect
    assert_no_secret(r, secrets_of(tmp_path, StoredToken.from_json(old).refresh_token))
    # the advice works
    monkeypatch.delenv("CLOUDSYNC_JOTTACLOUD_TOKEN")
    monkeypatch.delenv("CLOUDSYNC_JOTTACLOUD_TOKEN_URL")
    assert cs("config", "create", "fly", "jottacloud",
              f"login_token={srv.mint_login_token()}").exit_code == 0
    _works_across_refreshes(srv, "fly:")


def _stale_login(srv: JottaServer, tmp_path: Path, name: str) -> dict[str, str]:
    """A remote whose saved login went stale (the server rotated the refresh token away from
    the copy kept): its config values, the stale token included."""
    from cloudsync.config import Config

    make_remote(srv, name)
    values = Config.load(str(tmp_path / "cloudsync.conf")).show(name, redact=False)[name]
    srv.expire_access_tokens()
    assert cs("lsjson", f"{name}:").exit_code == 0  # rotates the refresh token
    return values


def _works_across_refreshes(srv: JottaServer, remote: str) -> None:
    for _ in range(2):  # the renewed login is kept where the next run finds it
        srv.expire_access_tokens()
        r = cs("lsjson", remote)
        assert r.exit_code == 0, r.output


def test_revoked_token_of_an_environment_remote_advises_what_works(
        srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote defined only by CLOUDSYNC_CONFIG_<NAME>_* variables: reconnect (which makes it
    a config-file section) once its token variable is gone."""
    values = _stale_login(srv, tmp_path, "envy")
    assert cs("config", "delete", "envy").exit_code == 0
    for key, value in values.items():
        monkeypatch.setenv(f"CLOUDSYNC_CONFIG_ENVY_{key.upper()}", value)
    srv.expire_access_tokens()
    r = cs("lsjson", "envy:")
    assert_one_clear_line(r, ExitCode.FATAL, "Stale token",
                          'unset CLOUDSYNC_CONFIG_ENVY_TOKEN, then run "cloudsync config reconnect envy:"')
    assert_no_secret(r, secrets_of(tmp_path, StoredToken.from_json(values["token"]).refresh_token))
    monkeypatch.delenv("CLOUDSYNC_CONFIG_ENVY_TOKEN")
    r = cs("config", "reconnect", "envy:", stdin=f"{srv.mint_login_token()}\nn\n".encode())
    assert r.exit_code == 0, r.output
    assert "[envy]" in remotes(tmp_path) and "type = jottacloud" in remotes(tmp_path)
    _works_across_refreshes(srv, "envy:")


def test_revoked_token_from_a_variable_over_a_config_remote_advises_what_works(
        srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLOUDSYNC_CONFIG_<NAME>_TOKEN overrides the config file, where a new login goes."""
    values = _stale_login(srv, tmp_path, "both")
    monkeypatch.setenv("CLOUDSYNC_CONFIG_BOTH_TOKEN", values["token"])
    srv.expire_access_tokens()
    r = cs("lsjson", "both:")
    assert_one_clear_line(r, ExitCode.FATAL, "Stale token",
                          'unset CLOUDSYNC_CONFIG_BOTH_TOKEN, then run "cloudsync config reconnect both:"')
    monkeypatch.delenv("CLOUDSYNC_CONFIG_BOTH_TOKEN")
    r = cs("config", "reconnect", "both:", stdin=f"{srv.mint_login_token()}\nn\n".encode())
    assert r.exit_code == 0, r.output
    _works_across_refreshes(srv, "both:")
