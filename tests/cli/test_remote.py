"""Remote-string grammar (rclone fspath) and building backends from remote strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudsync.config import Config
from cloudsync.errors import ConfigError, UsageError
from cloudsync.remote import (
    check_remote_name,
    open_backend,
    open_parent,
    parse_disable,
    parse_remote,
)


@pytest.mark.parametrize(
    ("text", "kind", "name", "path", "params"),
    [
        ("/tmp/x", "path", "local", "/tmp/x", {}),
        ("relative/dir", "path", "local", "relative/dir", {}),
        ("./sync:me", "path", "local", "./sync:me", {}),
        ("dir/a:b", "path", "local", "dir/a:b", {}),
        ("remote:", "config", "remote", "", {}),
        ("remote:path/to", "config", "remote", "path/to", {}),
        ("my remote:x", "config", "my remote", "x", {}),
        ("a.b+c@d-e_f:x", "config", "a.b+c@d-e_f", "x", {}),
        ("local:/tmp", "config", "local", "/tmp", {}),
        (":memory:bucket/x", "onthefly", "memory", "bucket/x", {}),
        (":local:/tmp", "onthefly", "local", "/tmp", {}),
        ("remote,k=v:p", "config", "remote", "p", {"k": "v"}),
        ("remote,k='v:a,l',k2=x:p", "config", "remote", "p", {"k": "v:a,l", "k2": "x"}),
        ('remote,k="say ""hi""":p', "config", "remote", "p", {"k": 'say "hi"'}),
        ("remote,flag:p", "config", "remote", "p", {"flag": "true"}),
        (":memory,precision=1s,hashes='md5,sha1':b", "onthefly", "memory", "b",
         {"precision": "1s", "hashes": "md5,sha1"}),
        ("remote:with:colons", "config", "remote", "with:colons", {}),
    ],
)
def test_parse(text: str, kind: str, name: str, path: str, params: dict[str, str]) -> None:
    spec = parse_remote(text)
    assert (spec.kind, spec.name, spec.path, dict(spec.params)) == (kind, name, path, params)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("remote,k='unterminated:p", "unterminated quoted config value"),
        ("remote,k='v:a'", "config name needs a trailing ':'"),
        ("remote,=x:p", "invalid connection string parameter"),
        (" lead:p", "invalid characters"),
        ("-dash:p", "invalid characters"),
        ("bad!name:p", "invalid characters"),
        ("::p", "backend type missing"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_remote(text)


@pytest.mark.parametrize("name", ["ok", "with space", "a.b", "x@y", "ü-ñ"])
def test_valid_names(name: str) -> None:
    check_remote_name(name)


@pytest.mark.parametrize("name", ["", " lead", "trail ", "-dash", "bad:name", "a/b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(UsageError):
        check_remote_name(name)


def test_parse_disable() -> None:
    assert parse_disable(["ListR,Copy", "dir_move"]) == ("list_recursive", "copy", "dir_move")
    with pytest.raises(UsageError):
        parse_disable(["nope"])


def test_open_local_path_and_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    backend, leaf = open_backend(str(tmp_path / "d"), Config(None, env={}))
    assert leaf is None and backend.type_name == "local"
    backend, leaf = open_backend(str(tmp_path / "d" / "f.txt"), Config(None, env={}))
    assert leaf == "f.txt"
    assert backend.stat(leaf).size == 1
    backend, leaf = open_parent("local:" + str(tmp_path / "d" / "new.txt"), Config(None, env={}))
    assert leaf == "new.txt"


def test_local_without_section_is_embedded_default(tmp_path: Path) -> None:
    backend, _ = open_backend("local:" + str(tmp_path), Config(None, env={}))
    assert backend.type_name == "local" and backend.name == "local"


def test_unknown_remote_and_backend() -> None:
    cfg = Config(None, env={})
    with pytest.raises(ConfigError, match=r'didn\'t find section in config file \("nope"\)'):
        open_backend("nope:x", cfg)
    with pytest.raises(ConfigError, match='didn\'t find backend called "nope"'):
        open_backend(":nope:x", cfg)


def test_option_precedence(tmp_path: Path) -> None:
    """param > --flag > CLOUDSYNC_CONFIG_<REMOTE>_<OPT> > CLOUDSYNC_<BACKEND>_<OPT> > file."""
    path = tmp_path / "c.conf"
    path.write_text("[m]\ntype = memory\nprecision = 1s\n")
    env: dict[str, str] = {}
    cfg = Config(path, env=env)

    def precision(remote: str, flags: dict[str, dict[str, str]] | None = None) -> int:
        backend, _ = open_backend(remote, cfg, backend_flags=flags, env=env, file_ok=False)
        return backend.features.precision_ns

    assert precision("m:prec") == 1_000_000_000
    env["CLOUDSYNC_MEMORY_PRECISION"] = "1ms"
    assert precision("m:prec") == 1_000_000
    env["CLOUDSYNC_CONFIG_M_PRECISION"] = "10ms"
    assert precision("m:prec") == 10_000_000
    assert precision("m:prec", {"memory": {"precision": "100ms"}}) == 100_000_000
    assert precision("m,precision=1ns:prec", {"memory": {"precision": "100ms"}}) == 1


def test_connection_string_makes_distinct_remote_name() -> None:
    cfg = Config(None, env={})
    plain, _ = open_backend(":memory:x", cfg, file_ok=False)
    special, _ = open_backend(":memory,precision=1s:x", cfg, file_ok=False)
    assert plain.name == ":memory"
    assert special.name.startswith(":memory{") and special.name.endswith("}")


def test_disable_capabilities() -> None:
    backend, _ = open_backend(":memory:dis", Config(None, env={}), disable=("copy",), file_ok=False)
    assert not backend.has("copy")
