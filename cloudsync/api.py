"""The public library API: open a remote, copy, sync, move and check from Python.

Everything here is re-exported from :mod:`cloudsync` (``cloudsync.copy(...)``).  Remotes are
written as on the command line (``"jotta:backup"``, ``"/home/me/photos"``, ``":memory:x"``) or
passed as backend handles from :func:`open_remote`; options take the CLI's flag names with ``_``
for ``-`` (``--max-delete 10`` → ``max_delete=10``) and the CLI's defaults.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import UsageError, exit_code_for
from .events import Event, Stats

if TYPE_CHECKING:
    from .backend import Backend
    from .config import Config
    from .engine.options import CheckOptions, SyncOptions
    from .engine.result import RunResult

__all__ = [
    "CheckResult",
    "Difference",
    "TransferResult",
    "check",
    "copy",
    "move",
    "open_remote",
    "sync",
]

#: A progress callback: called from worker threads with every transfer event the CLI renders.
Progress = Callable[[Event], None]


@dataclass(frozen=True)
class TransferResult:
    """What :func:`copy`, :func:`sync` and :func:`move` did.

    ``stats`` holds rclone's counters as attributes (``stats.transfers``, ``stats.bytes``,
    ``stats.checks``, ``stats.deletes`` …); ``errors`` every error counted, in order; ``error``
    the one that decides ``exit_code`` (the CLI's exit code for the same run; 0 when ``ok``).
    """

    stats: Stats
    errors: tuple[BaseException, ...]
    error: BaseException | None
    exit_code: int
    nothing_transferred: bool

    @property
    def ok(self) -> bool:
        return self.error is None


#: What a check found for one path (the sigils of ``check --combined``: ``*``, ``+``, ``-``, ``!``).
DifferenceKind = Literal["differ", "missing_on_dst", "missing_on_src", "error"]


@dataclass(frozen=True)
class Difference:
    """One path where source and destination do not agree."""

    path: str
    kind: DifferenceKind


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found: ``differences`` (empty when the trees match), the paths that
    ``matched``, the errors met; ``exit_code`` is the CLI's (1 when anything differs)."""

    stats: Stats
    errors: tuple[BaseException, ...]
    error: BaseException | None
    exit_code: int
    differences: tuple[Difference, ...] = ()
    matched: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None and not self.differences


# ----------------------------------------------------------------------------- remotes


def _config(config: str | os.PathLike[str] | Config | None) -> Config:
    from .config import Config

    if isinstance(config, Config):
        return config
    return Config.load(os.fspath(config) if config is not None else None)


def _flags(remote: str, config: Config, options: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Backend options given as keywords → the ``--<backend>-<option>`` flag mapping."""
    if not options:
        return {}
    from .registry import get_spec
    from .remote import parse_remote

    spec = parse_remote(remote)
    if spec.kind == "path":
        type_name = "local"
    elif spec.kind == "onthefly":
        type_name = spec.name
    else:
        layers = config.layers(spec.name)
        type_name = "local" if layers is None and spec.name == "local" else (
            (layers[1].get("type") or layers[0].get("type", "")) if layers else "")
    known = {opt.name for opt in get_spec(type_name).options} if type_name else set()
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)} for remote {remote!r}")
    return {type_name: {k: ("true" if v is True else "false" if v is False else str(v))
                        for k, v in options.items()}}


def open_remote(remote: str, *, config: str | os.PathLike[str] | Config | None = None,
                **backend_options: Any) -> Backend:
    """Open a remote (``"jotta:backup"``, ``"/home/me"``, ``":memory:x"``) as a backend handle.

    ``config`` is the config file (default: the CLI's lookup, ``CLOUDSYNC_CONFIG`` …) or a
    loaded :class:`cloudsync.config.Config`; keywords are backend options (``hard_delete=True``).
    The handle works as a context manager and can be passed to :func:`copy` & co.::

        with cloudsync.open_remote("jotta:backup") as jotta:
            for entry in jotta.list(""):
                print(entry.path, entry.size)
            print(jotta.about().used)
    """
    from .remote import open_backend

    cfg = _config(config)
    backend, _ = open_backend(remote, cfg, backend_flags=_flags(remote, cfg, backend_options),
                              file_ok=False)
    return backend


def _source(remote: str | Backend, cfg: Config, opened: list[Backend]) -> tuple[Backend, str | None]:
    if not isinstance(remote, str):
        return remote, None
    from .remote import open_backend

    backend, leaf = open_backend(remote, cfg)
    opened.append(backend)
    return backend, leaf


def _dest(remote: str | Backend, cfg: Config, opened: list[Backend]) -> Backend:
    if not isinstance(remote, str):
        return remote
    backend = open_remote(remote, config=cfg)
    opened.append(backend)
    return backend


# ----------------------------------------------------------------------------- options


def _sync_options(options: dict[str, Any]) -> SyncOptions:
    """CLI-named keywords → SyncOptions, from the flags' single declaration (same names,
    defaults, parsing); an unknown name is a TypeError, as for any Python function."""
    from .engine.options import SyncOptions

    return _build(SyncOptions, options)  # type: ignore[no-any-return]


def _check_options(options: dict[str, Any]) -> CheckOptions:
    from .engine.options import CheckOptions

    return _build(CheckOptions, options)  # type: ignore[no-any-return]


def _build(cls: type, options: dict[str, Any]) -> Any:
    """Build ``cls`` (with its FilterOptions) from keywords named like the CLI's flags.

    Text is parsed as the CLI parses it (``max_transfer="10G"``, ``min_age="7d"``); Python
    values are taken as they are (``max_transfer=10_000_000``, ``exclude=["*.tmp"]``, one string
    for a repeatable flag).  A flag that is a choice of switches takes either form
    (``delete_mode="before"`` or ``delete_before=True``).
    """
    from .filters import FilterOptions
    from .options import flag_options

    left = dict(options)
    built: dict[type, dict[str, Any]] = {cls: {}, FilterOptions: {}}
    for target, values in built.items():
        for field_name, opt in flag_options(target):
            for switch, choice, _ in opt.switches:
                if left.pop(switch[2:].replace("-", "_"), False):
                    if field_name in values:
                        raise UsageError(f"only one of the {opt.name.replace('_', '-')} switches can be used")
                    values[field_name] = choice
            if opt.name not in left and field_name not in left:
                continue
            value = left.pop(opt.name) if opt.name in left else left.pop(field_name)
            if opt.multiple:
                value = (value,) if isinstance(value, str) else tuple(value)
            elif isinstance(value, str) and opt.kind != "str" and not isinstance(opt.default, str):
                try:
                    value = opt.parse(value)
                except ValueError as exc:
                    raise UsageError(f"invalid value for {opt.name}: {value!r} ({exc})") from None
            elif opt.kind == "duration" and opt.parser is not None and isinstance(value, int | float):
                value = opt.parse(f"{value}s")  # stored in another unit (modify_window → ns)
            values[field_name] = value
    _reject_unknown(left)
    return cls(**built[cls], filters=FilterOptions(**built[FilterOptions]))


def _reject_unknown(left: dict[str, Any]) -> None:
    if left:
        raise TypeError(f"unknown option(s): {', '.join(sorted(left))} "
                        "(options are the CLI's flags with '_' for '-', e.g. max_delete=10)")


# ----------------------------------------------------------------------------- operations


def _transfer(kind: str, source: str | Backend, dest: str | Backend, progress: Progress | None,
              config: str | os.PathLike[str] | Config | None,
              options: dict[str, Any]) -> TransferResult:
    from . import engine
    from .events import null_reporter

    opts = _sync_options(options)
    cfg = _config(config)
    opened: list[Backend] = []
    try:
        src, src_file = _source(source, cfg, opened)
        dst = _dest(dest, cfg, opened)
        backup = _dest(opts.backup_dir, cfg, opened) if opts.backup_dir else None
        op = {"copy": engine.copy, "sync": engine.sync, "move": engine.move}[kind]
        reporter = progress or null_reporter
        result = engine.run_with_retries(
            lambda: op(src, dst, opts, reporter=reporter, backup=backup, src_file=src_file),
            opts.retries, retries_sleep=opts.retries_sleep,
        )
    finally:
        for backend in opened:
            backend.close()
    return _transfer_result(result, opts.error_on_no_transfer)


def _transfer_result(result: RunResult, error_on_no_transfer: bool) -> TransferResult:
    from .errors import ExitCode

    code = exit_code_for(result.final_error)
    if code == 0 and error_on_no_transfer and result.nothing_transferred:
        code = ExitCode.NO_FILES_TRANSFERRED
    return TransferResult(stats=result.stats, errors=tuple(result.errors),
                          error=result.final_error, exit_code=int(code),
                          nothing_transferred=result.nothing_transferred)


def copy(source: str | Backend, dest: str | Backend, *, progress: Progress | None = None,
         config: str | os.PathLike[str] | Config | None = None, **options: Any) -> TransferResult:
    """Copy new and changed files from ``source`` into ``dest``; never deletes (``cloudsync copy``).

    ``options`` are the CLI's flags: ``checksum=True``, ``transfers=8``, ``dry_run=True``,
    ``exclude=["*.tmp"]``, ``max_transfer="10G"`` … ``progress`` receives every
    :class:`~cloudsync.events.TransferStarted` / ``TransferProgress`` / ``TransferDone`` event.
    Per-file failures do not raise: they are in ``result.errors`` and ``result.exit_code``::

        result = cloudsync.copy("/home/me/photos", "jotta:backup/photos", transfers=8)
        print(result.stats.transfers, "files,", result.stats.bytes, "bytes")
        if not result.ok:
            raise SystemExit(result.exit_code)
    """
    return _transfer("copy", source, dest, progress, config, options)


def sync(source: str | Backend, dest: str | Backend, *, progress: Progress | None = None,
         config: str | os.PathLike[str] | Config | None = None, **options: Any) -> TransferResult:
    """Make ``dest`` identical to ``source`` (``cloudsync sync``): extra files on ``dest`` are
    deleted after the transfers, and nothing is deleted if anything failed::

        result = cloudsync.sync("/srv/data", "jotta:mirror", checksum=True, max_delete=100)
        assert result.ok, result.error
    """
    return _transfer("sync", source, dest, progress, config, options)


def move(source: str | Backend, dest: str | Backend, *, progress: Progress | None = None,
         config: str | os.PathLike[str] | Config | None = None,
         delete_empty_src_dirs: bool = False, **options: Any) -> TransferResult:
    """Move files from ``source`` into ``dest`` (``cloudsync move``): each source file is deleted
    once it is safely on ``dest``::

        cloudsync.move("/var/spool/outbox", "jotta:inbox", delete_empty_src_dirs=True)
    """
    return _transfer("move", source, dest, progress, config,
                     {**options, "delete_empty_src_dirs": delete_empty_src_dirs})


_SIGILS: dict[str, DifferenceKind | None] = {
    "=": None, "*": "differ", "+": "missing_on_dst", "-": "missing_on_src", "!": "error",
}


def check(source: str | Backend, dest: str | Backend, *,
          config: str | os.PathLike[str] | Config | None = None, **options: Any) -> CheckResult:
    """Compare ``source`` and ``dest`` by size and md5 without changing anything (``cloudsync check``).

    ``options``: ``one_way=True``, ``download=True`` (compare bytes), ``size_only=True``,
    ``checkers=8``, filters, and the report files (``combined="report.txt"`` …)::

        result = cloudsync.check("/home/me/photos", "jotta:backup/photos")
        for diff in result.differences:
            print(diff.kind, diff.path)
    """
    from . import engine

    opts = _check_options(options)
    cfg = _config(config)
    opened: list[Backend] = []
    with tempfile.TemporaryDirectory(prefix="cloudsync-check-") as tmp:
        # The engine reports per-path results through --combined; read ours back.
        own = os.path.join(tmp, "combined")
        extra = opts.combined
        from dataclasses import replace

        run_opts = replace(opts, combined=own)
        try:
            src, src_file = _source(source, cfg, opened)
            dst = _dest(dest, cfg, opened)
            result = engine.check(src, dst, run_opts, src_file=src_file)
        finally:
            for backend in opened:
                backend.close()
        with open(own, encoding="utf-8") as f:
            lines = f.read()
        if extra:
            with open(extra, "w", encoding="utf-8") as out:
                out.write(lines)
    differences, matched = _parse_combined(lines.splitlines())
    return CheckResult(stats=result.stats, errors=tuple(result.errors), error=result.final_error,
                       exit_code=int(exit_code_for(result.final_error)),
                       differences=differences, matched=matched)


def _parse_combined(lines: Iterable[str]) -> tuple[tuple[Difference, ...], tuple[str, ...]]:
    differences: list[Difference] = []
    matched: list[str] = []
    for line in lines:
        sigil, _, path = line.partition(" ")
        if sigil not in _SIGILS:
            raise UsageError(f"unexpected check report line {line!r}")
        kind = _SIGILS[sigil]
        if kind is None:
            matched.append(path)
        else:
            differences.append(Difference(path, kind))
    return tuple(sorted(differences, key=lambda d: d.path)), tuple(sorted(matched))
