"""``--low-level-retries`` is a global flag: every command's requests are retried that many
times in all, not only those of copy/sync/move/check (issue #7)."""

from __future__ import annotations

from pathlib import Path

from cloudsync.errors import ExitCode
from cloudsync.jottaserver.faultproxy import FaultProxy
from cloudsync.jottaserver.testing import JottaServer

from .harness import _config, cloudsync


def test_every_command_makes_exactly_low_level_retries_tries(tmp_path: Path) -> None:
    from tests.jottacloud.support import token_json

    config = tmp_path / "cloudsync.conf"
    with JottaServer() as srv, FaultProxy(f"127.0.0.1:{srv.port}", rate=1.0, kinds=("503",),
                                          skip=("/auth/",)) as proxy:
        _config(config, srv, proxy, token_json(srv))

        def tries(*args: str, env: dict[str, str] | None = None) -> tuple[int, set[int]]:
            """Exit code, and how many times each failing request was sent."""
            proxy.faulted.clear()
            r = cloudsync(list(args), config, env=env)
            assert "Traceback" not in r.stderr, r.stderr
            return r.returncode, set(proxy.faulted.values())

        # rclone: a listing that failed on a temporary error exits 5 (retry error)
        assert tries("lsjson", "-R", "jotta:", "--low-level-retries", "3") == (
            ExitCode.RETRY, {3})
        assert tries("--low-level-retries", "2", "lsf", "jotta:") == (ExitCode.RETRY, {2})
        assert tries("lsjson", "-R", "jotta:", env={"CLOUDSYNC_LOW_LEVEL_RETRIES": "2"}) == (
            ExitCode.RETRY, {2})
        # (delete and purge are whole-command retried too: --retries 1 leaves one attempt)
        for command in (["ls"], ["lsl"], ["lsd"], ["size"], ["md5sum"], ["about"], ["mkdir"],
                        ["rmdir"], ["cat"], ["delete", "--retries", "1"],
                        ["purge", "--retries", "1"]):
            target = "jotta:" if command[0] in ("ls", "lsl", "lsd", "size", "md5sum", "about") \
                else "jotta:dir/x"
            code, per_request = tries(*command, target, "--low-level-retries", "2")
            assert code != 0 and per_request == {2}, (command, code, per_request)
        # the default: at most 10 tries of the failing request
        code, per_request = tries("lsjson", "-R", "jotta:")
        assert code == ExitCode.RETRY and per_request and max(per_request) <= 10
