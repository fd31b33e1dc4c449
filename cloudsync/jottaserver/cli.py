"""``cloudsync serve jottacloud``: run the offline JottaCloud server until SIGINT/SIGTERM.

The CLI mounts :data:`serve` lazily (``from cloudsync.jottaserver.cli import serve``); the same
command runs standalone as ``python -m cloudsync.jottaserver``.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from .brands import REALMS

__all__ = ["jottacloud", "serve"]


def _split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"expected HOST:PORT, got {addr!r}", param_hint="--addr")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.group(name="serve")
def serve() -> None:
    """Serve a protocol-faithful test server."""


@serve.command(name="jottacloud")
@click.option("--addr", default="127.0.0.1:0", show_default=True,
              help="Address to listen on; port 0 picks a free port.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep state in DIR (SQLite + blob files) so it survives a restart; "
                   "default is in memory.")
@click.option("--user", default="testuser", show_default=True,
              help="Login name of a new account (the internal username is derived from it); "
                   "an existing --data account keeps its own.")
@click.option("--password", default=None,
              help="Account password for the legacy grant and the HTML login form "
                   "(default: random for a new account).")
@click.option("--realm", default="jottacloud", show_default=True, type=click.Choice(sorted(REALMS)),
              help="Realm (brand) the printed login token is for.")
@click.option("--token-lifetime", type=float, default=3600.0, show_default=True,
              help="Access-token lifetime in seconds.")
@click.option("--capacity", type=int, default=-1, show_default=True,
              help="Quota in bytes for a new account; -1 = unlimited.")
@click.option("--public-url", default=None,
              help="Base URL clients reach the server at (e.g. behind a TLS front).")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Serve HTTPS with this certificate chain (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Private key for --tls-cert (PEM).")
@click.option("--otp", default=None, help="Require this SMS code on the legacy password grant.")
@click.option("--print-token", is_flag=True,
              help="Print only a fresh login token for the server keeping its state in --data, "
                   "then exit.")
def jottacloud(addr: str, data_dir: Path | None, user: str, password: str | None, realm: str,
               token_lifetime: float, capacity: int, public_url: str | None,
               tls_cert: str | None, tls_key: str | None, otp: str | None,
               print_token: bool) -> None:
    """Run an offline JottaCloud-compatible server (JFS, JSON API, OIDC and legacy auth)."""
    from .testing import JottaServer

    if print_token:
        _print_token(data_dir, user, realm, public_url)
        return
    host, port = _split_addr(addr)
    srv = JottaServer(
        user, data_dir=data_dir, access_token_lifetime=token_lifetime,
        password=password or secrets.token_urlsafe(12), capacity=capacity, host=host, port=port,
        public_url=public_url, tls_cert=tls_cert, tls_key=tls_key,
    )
    try:
        srv.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {addr}: {exc}") from exc
    if otp:
        srv.enable_otp(otp)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    lines = {
        "base_url": srv.base_url,
        "jfs_url": srv.jfs_url,
        "api_url": srv.api_url,
        "well_known_url": srv.well_known_url(realm),
        "token_url": srv.token_url(realm),
        "legacy_token_url": srv.legacy_token_url,
        "username": srv.username,
        "login_name": srv.login_name,
        "password": srv.password,
        "data": str(data_dir) if data_dir else "(memory)",
        "login_token": srv.mint_login_token(realm),
    }
    click.echo("cloudsync JottaCloud test server; stop with Ctrl-C")
    for key, value in lines.items():
        click.echo(f"{key}={value}")
    # How cloudsync finds this server instead of the real hosts: the jottacloud backend reads
    # endpoint overrides from CLOUDSYNC_JOTTACLOUD_* (the config wizard stores them with the
    # remote).  Printed ready to paste; the key=value lines above stay machine-readable.
    click.echo("# point cloudsync at this server (paste into the shell that runs cloudsync):")
    for opt, value in (("JFS_URL", srv.jfs_url), ("API_URL", srv.api_url),
                       ("AUTH_BASE_URL", srv.base_url), ("WWW_URL", srv.base_url + "/")):
        click.echo(f"export CLOUDSYNC_JOTTACLOUD_{opt}={value}")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
        click.echo("stopped", err=True)


def _print_token(data_dir: Path | None, user: str, realm: str, public_url: str | None) -> None:
    from .auth import AuthService
    from .store import Store

    if data_dir is None:
        raise click.UsageError("--print-token needs --data DIR (the running server's state)")
    store = Store(data_dir, login_name=user)
    try:
        base = public_url or store.meta("base_url")
        if not base:
            raise click.ClickException(f"no server has run with --data {data_dir} yet")
        click.echo(AuthService(store).mint_login_token(base.rstrip("/"), realm))
    finally:
        store.close()
