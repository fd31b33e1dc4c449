"""The interactive ``cloudsync config`` session end to end, through the real CLI.

Each flow is typed into the wizard menu (n → name → jottacloud → auth type → …) with a
scripted stdin against the offline server, which the wizard finds through the
``CLOUDSYNC_JOTTACLOUD_*`` endpoint variables ``cloudsync serve jottacloud`` prints.  The
new remote then has to work for copy/check/about/lsjson/link/cleanup.

The brand flow really goes through the 127.0.0.1 redirect listener: ``webbrowser.open`` is
replaced by a "person" who loads the page, fills in the server's HTML login form with the
account's login name and password and submits it; the browser follows the redirect to the
listener.  The headless variant pastes the address the browser was sent to.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from click.testing import CliRunner, Result
from cloudsync.backends.jottacloud import _auth
from cloudsync.backends.jottacloud._api import StoredToken

from cloudsync.errors import ExitCode
from cloudsync.jottaserver.testing import JottaServer

from .support import running_server

T = 1_600_000_000




@pytest.fixture(autouse=True)
def _free_redirect_port(monkeypatch: pytest.MonkeyPatch) -> None:
    # rclone's fixed 53682 in production; parallel test workers need a free port each.
    monkeypatch.setattr(_auth, "REDIRECT_PORT", 0)


@pytest.fixture
def srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[JottaServer]:
    with running_server(password="correct horse 7") as server:
        # Exactly what `cloudsync serve jottacloud` prints for the user to paste.
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_JFS_URL", server.jfs_url)
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_API_URL", server.api_url)
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_AUTH_BASE_URL", server.base_url)
        monkeypatch.setenv("CLOUDSYNC_JOTTACLOUD_WWW_URL", server.base_url + "/")
        monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "conf" / "cloudsync.conf"))
        yield server


class Typist(io.RawIOBase):
    """stdin that types one answer per line when the program reads it.

    An answer may be a callable: it runs when the question is read, so it can use what the
    program printed so far (a URL to open in a "browser" on another machine).
    """

    def __init__(self, answers: Sequence[str | Callable[[], str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if not self.answers:
                return 0
            answer = self.answers.pop(0)
            text = answer() if callable(answer) else answer
            self._pending = (text + "\n").encode()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def printed_so_far() -> str:
    """What the CLI has written to (CliRunner's) stdout up to now."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    return buffer.getvalue().decode() if buffer is not None and hasattr(buffer, "getvalue") else ""


def cs(*args: str, answers: Sequence[str | Callable[[], str]] | None = None) -> Result:
    from cloudsync.cli import cli

    stdin: Any = Typist(answers) if answers is not None else None
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


class LoginForm(HTMLParser):
    """The first <form> of a page: its action and fields, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.inputs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
            self.inputs.append(a["name"])


def sign_in(srv: JottaServer, url: str, *, follow: bool) -> requests.Response:
    """Load the brand's login page and submit its form like a person: login name + password."""
    with requests.Session() as browser:
        page = browser.get(url, timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        form = LoginForm()
        form.feed(page.text)
        assert {"username", "password"} <= set(form.inputs), form.inputs
        fields = {**form.fields, "username": srv.login_name, "password": srv.password}
        return browser.post(urljoin(url, form.action), data=fields, allow_redirects=follow, timeout=30)


def wizard(*steps: str | Callable[[], str]) -> list[str | Callable[[], str]]:
    """The menu around one new remote: n, name, type … then keep it and quit."""
    return ["n", "jotta", "jottacloud", *steps, "y", "q"]


def check_new_remote_works(srv: JottaServer, tmp_path: Path, out: str) -> None:
    """copy, check, about, lsjson, link and cleanup against the remote the wizard made."""
    assert 'Keep this "jotta" remote?' in out
    src = tmp_path / "photos"
    (src / "2024").mkdir(parents=True)
    for name, data in (("2024/a.jpg", b"first photo"), ("b.txt", b"hello jotta")):
        (src / name).write_bytes(data)
    r = cs("copy", str(src), "jotta:backup")
    assert r.exit_code == 0, r.stderr
    assert srv.state.read("Jotta/Archive/backup/2024/a.jpg") == b"first photo"
    r = cs("check", str(src), "jotta:backup")
    assert r.exit_code == 0, r.stderr
    assert "0 differences found" in r.stderr
    r = cs("about", "jotta:")
    assert r.exit_code == 0 and r.stdout.startswith("Total:   unlimited\n"), r.stdout
    r = cs("lsjson", "-R", "jotta:backup")
    items = {i["Path"]: i for i in json.loads(r.stdout)}
    assert r.exit_code == 0 and set(items) == {"2024", "2024/a.jpg", "b.txt"}
    assert items["b.txt"]["Size"] == 11 and items["2024"]["IsDir"] is True
    r = cs("link", "jotta:backup/b.txt")
    assert r.exit_code == 0 and r.stdout.startswith(srv.base_url + "/"), r.stdout
    assert requests.get(r.stdout.strip(), timeout=30).content == b"hello jotta"
    assert cs("deletefile", "jotta:backup/b.txt").exit_code == 0
    assert srv.state.trash()  # JottaCloud keeps deleted files in the trash …
    r = cs("cleanup", "jotta:")
    assert r.exit_code == 0, r.stderr
    assert srv.state.trash() == []  # … until cleanup empties it


def stored(tmp_path: Path) -> str:
    return (tmp_path / "conf" / "cloudsync.conf").read_text()


def test_wizard_personal_login_token(srv: JottaServer, tmp_path: Path) -> None:
    token = srv.mint_login_token()
    r = cs("config", answers=wizard("1", token, "n"))
    assert r.exit_code == 0, r.output
    assert "Personal login token" in r.stdout
    assert token not in r.output and token not in stored(tmp_path)  # secret prompt, single use
    assert "config_type = standard" in stored(tmp_path)
    check_new_remote_works(srv, tmp_path, r.stdout)


def test_wizard_brand_browser_login_through_the_redirect_listener(
    srv: JottaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    opened: list[str] = []

    def person_at_the_browser(url: str, *args: Any, **kwargs: Any) -> bool:
        opened.append(url)
        landing = sign_in(srv, url, follow=True)  # the redirect goes to our 127.0.0.1 listener
        assert landing.status_code == 200 and "Success" in landing.text
        assert re.match(r"http://localhost:\d+/\?", landing.url)
        return True

    monkeypatch.setattr(webbrowser, "open", person_at_the_browser)
    r = cs("config", answers=wizard("2", "telia_se", "y", "n"))
    assert r.exit_code == 0, r.output
    assert len(opened) == 1 and "/auth/realms/telia_se/protocol/openid-connect/auth?" in opened[0]
    assert "Log in to Telia Cloud (Sweden) in your browser" in r.stdout
    conf = stored(tmp_path)
    assert "service = telia_se" in conf and "client_id = desktop" in conf
    assert srv.password not in r.output and srv.password not in conf
    check_new_remote_works(srv, tmp_path, r.stdout)


def test_wizard_brand_headless_paste(srv: JottaServer, tmp_path: Path) -> None:
    def paste_redirected_address() -> str:
        # The user opened the printed URL on another machine, signed in, and the browser went
        # to http://localhost:53682/?… which does not load there; they copy that address.
        url = re.findall(r"(http://\S+/protocol/openid-connect/auth\?\S+)", printed_so_far())[-1]
        resp = sign_in(srv, url, follow=False)
        assert resp.status_code == 302
        return resp.headers["Location"]

    r = cs("config", answers=wizard("2", "onlime", "n", paste_redirected_address, "n"))
    assert r.exit_code == 0, r.output
    assert "Paste the address here" in r.stdout
    assert "service = onlime" in stored(tmp_path)
    check_new_remote_works(srv, tmp_path, r.stdout)


def test_wizard_legacy_with_sms_code(srv: JottaServer, tmp_path: Path) -> None:
    srv.enable_otp("123456")
    r = cs("config", answers=wizard("3", srv.login_name, srv.password, "123-456", "n"))
    assert r.exit_code == 0, r.output
    assert "one-time code" in r.stdout
    conf = stored(tmp_path)
    assert "config_type = legacy" in conf and f"username = {srv.login_name}" in conf
    assert srv.password not in conf and srv.password not in r.output
    check_new_remote_works(srv, tmp_path, r.stdout)


def test_revoked_login_says_reconnect_and_reconnect_repairs(srv: JottaServer, tmp_path: Path) -> None:
    from cloudsync.config import Config

    r = cs("config", answers=wizard("1", srv.mint_login_token(), "n"))
    assert r.exit_code == 0, r.output
    conf_path = tmp_path / "conf" / "cloudsync.conf"
    old = Config.load(str(conf_path)).get("jotta", "token")
    assert old
    srv.expire_access_tokens()
    assert cs("lsjson", "jotta:").exit_code == 0  # refreshes: the refresh token rotates
    # An old copy of the config (a restored backup, a second machine) presents the rotated-away
    # refresh token: the server answers "Stale token" and revokes the whole login.
    cfg = Config.load(str(conf_path))
    cfg.set_values("jotta", {"token": old})
    srv.expire_access_tokens()
    r = cs("lsjson", "-vv", "jotta:")
    assert r.exit_code == ExitCode.FATAL
    lines = [line for line in r.stderr.splitlines() if "ERROR" in line]
    assert len(lines) == 1, r.stderr
    assert "Stale token" in lines[0] and 'cloudsync config reconnect jotta:' in lines[0]
    tok = StoredToken.from_json(old)
    assert tok.refresh_token not in r.output and tok.access_token not in r.output
    # The newer token of the same login is dead too (reuse detection kills the family).
    # Reconnect asks for a fresh login and repairs the remote in place.
    r = cs("config", "reconnect", "jotta:", answers=[srv.mint_login_token()])
    assert r.exit_code == 0, r.output
    r = cs("lsjson", "jotta:")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert 'Keep this' not in r.stdout
    check_new_remote_works(srv, tmp_path, 'Keep this "jotta" remote?')
