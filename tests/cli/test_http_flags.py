"""rclone's global HTTP flags against the offline JottaCloud server: --tpslimit(-burst),
--max-connections, --user-agent, --header(-upload/-download), --ca-cert and --dump (which never
shows a secret)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudsync import net

testing = pytest.importorskip("cloudsync.jottaserver.testing")


@pytest.fixture(autouse=True)
def _restore_net() -> Iterator[None]:
    yield
    net.reset()


@pytest.fixture
def srv(cs: Any, config_path: Path, fail_keyring: None) -> Iterator[Any]:
    with testing.JottaServer(user="testuser") as server:
        server.login_token = server.mint_login_token()
        r = cs("config", "create", "j", "jottacloud", f"login_token={server.login_token}",
               f"jfs_url={server.jfs_url}", f"api_url={server.api_url}")
        assert r.code == 0, r.err
        yield server


def _tree(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"f{i}.txt").write_bytes(b"x" * (i + 1))
    return root


# ----------------------------------------------------------------------------- --tpslimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_spaces_calls_after_the_burst() -> None:
    clock = FakeClock()
    bucket = net.TokenBucket(2.0, 3, clock=clock, sleep=clock.sleep)
    # a full bucket: `burst` calls at once, then one every 1/rate seconds
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # queued behind the previous reservation
    clock.now += 10  # idle: the bucket refills, but never beyond `burst`
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)


def test_token_bucket_long_run_rate_is_bounded() -> None:
    clock = FakeClock()
    bucket = net.TokenBucket(5.0, 1, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(51):
        bucket.wait()
    # 51 calls at 5/s with a burst of 1: the first at once, then 50 spaced by 0.2 s
    assert clock.now - start == pytest.approx(10.0)
    with pytest.raises(ValueError):
        net.TokenBucket(0, 1)


def test_tpslimit_bounds_the_request_rate(cs: Any, srv: Any, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", 6)
    srv.clear_request_log()
    r = cs("copy", str(src), "j:dst", "--tpslimit", "10", "--tpslimit-burst", "2", "-v",
           "--transfers", "4")
    assert r.code == 0, r.err
    assert "Starting transaction limiter: max 10 transactions/s with burst 2" in r.err
    times = sorted(e.time for e in srv.request_log)
    assert len(times) >= 12
    # loose bound (no timing race): n transactions need at least (n - burst) / rate seconds
    assert times[-1] - times[0] >= (len(times) - 2) / 10 * 0.8
    assert net.limiter() is not None and net.limiter() is net.limiter()  # one bucket per process


def test_tpslimit_from_the_environment(cs: Any, srv: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSYNC_TPSLIMIT", "3.5")
    monkeypatch.setenv("CLOUDSYNC_TPSLIMIT_BURST", "4")
    assert cs("lsf", "j:").code == 0
    assert (net.current().tpslimit, net.current().tpslimit_burst) == (3.5, 4)


def test_tpslimit_rejects_nonsense(cs: Any) -> None:
    for args in (["--tpslimit", "-1"], ["--tpslimit", "fast"], ["--tpslimit-burst", "0"]):
        r = cs("lsf", "/", *args)
        assert r.code == 2, (args, r.err)


def test_max_connections_caps_concurrent_calls(cs: Any, srv: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import requests

    src = _tree(tmp_path / "src", 8)
    srv.add_fault(r"/files/v1/allocate", "slow", rate=1.0, delay=0.2)
    lock = threading.Lock()
    active = peak = 0
    real = requests.Session.request

    def counting(self: Any, *a: Any, **kw: Any) -> Any:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        try:
            return real(self, *a, **kw)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(requests.Session, "request", counting)
    r = cs("copy", str(src), "j:dst", "--max-connections", "2", "--transfers", "8")
    assert r.code == 0, r.err
    assert peak == 2
    assert cs("lsf", "j:dst").out.count("\n") == 8
    active = peak = 0
    assert cs("copy", str(src), "j:dst2", "--transfers", "8").code == 0
    assert peak > 2  # without the flag the transfers do overlap


# ----------------------------------------------------------------------------- headers, UA


def _headers(entry: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in entry.headers}


def test_user_agent_and_headers(cs: Any, srv: Any, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", 1)
    srv.clear_request_log()
    assert cs("copy", str(src), "j:dst").code == 0
    assert all(_headers(e)["user-agent"] == "cloudsync/0.1 (jottacloud)" for e in srv.request_log)
    (src / "f0.txt").write_bytes(b"y")  # new bytes: not known to the server (no dedup)
    srv.clear_request_log()
    r = cs("copy", str(src), "j:dst2", "--user-agent", "backup-job/2", "--header", "X-All: 1",
           "--header-upload", "X-Up: u", "--header-download", "X-Down: d")
    assert r.code == 0, r.err
    log = srv.request_log
    assert log and all(_headers(e)["user-agent"] == "backup-job/2" for e in log)
    assert all(_headers(e).get("x-all") == "1" for e in log)
    uploads = [e for e in log if "/files/v1/upload" in e.path]
    assert uploads and all(_headers(e).get("x-up") == "u" for e in uploads)
    assert not any("x-up" in _headers(e) for e in log if e not in uploads)
    assert not any("x-down" in _headers(e) for e in log)
    srv.clear_request_log()
    r = cs("cat", "j:dst2/f0.txt", "--header-download", "X-Down: d")
    assert r.code == 0 and r.out == "y"
    downloads = [e for e in srv.request_log if "mode=bin" in e.query]
    assert downloads and all(_headers(e).get("x-down") == "d" for e in downloads)


def test_header_from_the_environment_keeps_spaces(cs: Any, srv: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSYNC_HEADER", "X-One: a b\nX-Two: c")
    srv.clear_request_log()
    assert cs("lsf", "j:").code == 0
    headers = _headers(srv.request_log[-1])
    assert (headers.get("x-one"), headers.get("x-two")) == ("a b", "c")


def test_bad_header_is_a_usage_error(cs: Any) -> None:
    r = cs("lsf", "/", "--header", "no colon")
    assert r.code == 2 and "Name: value" in r.err


# ----------------------------------------------------------------------------- --ca-cert


def test_ca_cert_trusts_the_given_ca(cs: Any, config_path: Path, tmp_path: Path,
                                     fail_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets this variable override a session's CA file: --ca-cert must win over it
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, cert, key = testing.make_tls_front_certs(certs, hosts=("localhost",))
    with testing.JottaServer(host="localhost", tls_cert=cert, tls_key=key) as server:
        assert server.base_url.startswith("https://localhost:")
        token = server.mint_login_token()
        args = ("config", "create", "t", "jottacloud", f"login_token={token}",
                f"jfs_url={server.jfs_url}", f"api_url={server.api_url}")
        r = cs(*args)  # the system's CAs do not know this one: verification stays on
        assert r.code != 0 and "TLS verification failed" in r.err, r.err
        r = cs(*args, "--ca-cert", ca)
        assert r.code == 0, r.err
        server.state.put_file("Jotta/Archive/a.txt", b"hello")
        assert cs("lsf", "t:").code != 0
        r = cs("lsf", "t:", "--ca-cert", ca)
        assert (r.code, r.out) == (0, "a.txt\n"), r.err
        # several files: they are all trusted (joined into one bundle)
        other = tmp_path / "other"
        other.mkdir()
        other_ca = testing.make_tls_front_certs(other, hosts=("localhost",))[0]
        r = cs("lsf", "t:", "--ca-cert", other_ca, "--ca-cert", ca)
        assert (r.code, r.out) == (0, "a.txt\n"), r.err
        # only the given CAs: another CA alone does not verify this server
        assert cs("lsf", "t:", "--ca-cert", other_ca).code != 0
    r = cs("lsf", "t:", "--ca-cert", str(tmp_path / "missing.pem"))
    assert r.code != 0 and "missing.pem" in r.err


# ----------------------------------------------------------------------------- --dump


def _secrets(srv: Any, config_path: Path) -> list[str]:
    section = config_path.read_text()
    token = json.loads(re.search(r"^token = (.*)$", section, re.M).group(1))  # type: ignore[union-attr]
    out = [token["access_token"], token["refresh_token"], srv.login_token]
    return [s for s in out if s and len(s) > 8]


@pytest.mark.parametrize("what", ["headers,bodies", "headers,bodies,auth"])
def test_dump_never_shows_a_secret(cs: Any, srv: Any, config_path: Path, tmp_path: Path,
                                   what: str) -> None:
    src = _tree(tmp_path / "src", 2)
    srv.expire_access_tokens()  # a token refresh happens inside the dumped run
    r = cs("copy", str(src), "j:dst", "-vv", "--dump", what)
    assert r.code == 0, r.err
    dumped = r.err
    assert "Automatically setting -vv" not in dumped  # -vv given
    assert "HTTP REQUEST" in dumped and "HTTP RESPONSE" in dumped
    assert "Authorization: Bearer XXX" in dumped
    assert re.search(r"^POST /files/v1/allocate HTTP/1.1$", dumped, re.M)
    assert '"md5"' in dumped  # a JSON body is shown
    assert "<streamed body" in dumped  # the file bytes are not
    for secret in _secrets(srv, config_path):
        assert secret not in dumped
    # the refreshed token of this very run, and the pieces of a JWT, never appear either
    for secret in _secrets(srv, config_path):
        for piece in secret.split("."):
            if len(piece) > 16:
                assert piece not in dumped


def test_dump_implies_debug_and_refuses_what_it_lacks(cs: Any, srv: Any) -> None:
    r = cs("lsf", "j:", "--dump", "responses")
    assert r.code == 0, r.err
    assert "NOTICE: Automatically setting -vv as --dump is enabled" in r.err
    assert "HTTP RESPONSE" in r.err and "HTTP REQUEST" not in r.err
    r = cs("lsf", "j:", "--dump", "goroutines")
    assert r.code == 2 and "cannot dump goroutines" in r.err


def test_mask_text_covers_bodies_and_urls() -> None:
    from cloudsync.transport import mask_text

    text = mask_text('grant_type=refresh_token&refresh_token=SECRET1&client_id=x '
                     '{"access_token": "SECRET2", "password":"SECRET3"} '
                     '<auth_token>SECRET4</auth_token> GET /a?code=SECRET5&x=1')
    assert not re.search(r"SECRET\d", text), text


# ----------------------------------------------------------------------------- connection flags


def test_no_gzip_and_no_keepalive(cs: Any, srv: Any) -> None:
    srv.clear_request_log()
    assert cs("lsf", "j:").code == 0
    first = _headers(srv.request_log[-1])
    assert "gzip" in first.get("accept-encoding", "") and first.get("connection") != "close"
    srv.clear_request_log()
    r = cs("lsf", "j:", "--no-gzip-encoding", "--disable-http-keep-alives")
    assert r.code == 0, r.err
    for entry in srv.request_log:
        headers = _headers(entry)
        assert "gzip" not in headers.get("accept-encoding", "")
        assert headers.get("connection") == "close"


def test_bind_and_proxy(cs: Any, srv: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    r = cs("lsf", "j:", "--bind", "127.0.0.1")
    assert r.code == 0, r.err
    assert net.current().bind == "127.0.0.1"
    # an address of no interface here: the connection cannot be made, one clear line
    r = cs("lsf", "j:", "--bind", "192.0.2.1", "--low-level-retries", "1", "--retries", "1")
    assert r.code != 0 and "Traceback" not in r.err
    # --http-proxy: the requests go to the proxy (here a port nobody listens on)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    srv.clear_request_log()
    r = cs("lsf", "j:", "--http-proxy", f"http://127.0.0.1:{port}", "--low-level-retries", "1",
           "--retries", "1")
    assert r.code != 0 and "Traceback" not in r.err
    assert srv.request_log == []  # nothing reached the server directly


def test_client_cert_for_mutual_tls(cs: Any, config_path: Path, tmp_path: Path,
                                    fail_keyring: None) -> None:
    import ssl

    server_dir, client_dir = tmp_path / "server", tmp_path / "client"
    server_dir.mkdir()
    client_dir.mkdir()
    ca, cert, key = testing.make_tls_front_certs(server_dir, hosts=("localhost",))
    client_ca, client_cert, client_key = testing.make_tls_front_certs(client_dir, hosts=("localhost",))
    with testing.JottaServer(host="localhost", tls_cert=cert, tls_key=key) as server:
        token = server.mint_login_token()
        r = cs("config", "create", "m", "jottacloud", f"login_token={token}",
               f"jfs_url={server.jfs_url}", f"api_url={server.api_url}", "--ca-cert", ca)
        assert r.code == 0, r.err
        # from now on the server asks every client for a certificate signed by client_ca
        context = server._httpd.socket.context  # type: ignore[attr-defined]
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
        r = cs("lsf", "m:", "--ca-cert", ca, "--low-level-retries", "1")
        assert r.code != 0 and "Traceback" not in r.err
        r = cs("lsf", "m:", "--ca-cert", ca, "--client-cert", client_cert, "--client-key", client_key)
        assert r.code == 0, r.err
    r = cs("lsf", "m:", "--client-cert", str(tmp_path / "nope.pem"))
    assert r.code == 1 and "--client-cert: no such file" in r.err


def test_no_check_certificate_is_refused(cs: Any) -> None:
    r = cs("lsf", "/", "--no-check-certificate")
    assert r.code == 2 and "never turns TLS verification off" in r.err
