"""The root ``cloudsync`` click group: lazy subcommands, global flags, error boundary.

Start-up must stay fast (``cloudsync --help`` imports no backend, engine, requests, lxml, rich
or keyring): subcommands are listed in :data:`COMMANDS` with their one-line help and imported
only when invoked.

Global flags (``-v``, ``--config``, ``-P`` …) are accepted before *or* after the subcommand, as
rclone users write them: every command carries them and stores them in one :class:`Settings`
on the root context.  ``--<backend>-<option>`` flags are taken out of the argument list before
click parses it (they are generated from each backend's declared options, see
:func:`split_backend_flags`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from ..errors import CloudsyncError, ExitCode, IsFileError, RootIsFile, exit_code_for
from ..log import NOTICE, notice
from ..options import (
    LOW_LEVEL_RETRIES,
    flag,
    flag_options,
    non_negative_float,
    non_negative_int,
    parse_duration,
    parse_size,
    positive_int,
    shared_flag,
)
from .flags import click_params


def _dump(text: str) -> str:
    from ..net import parse_dump

    return ",".join(sorted(parse_dump(text)))


def _log_format(text: str) -> str:
    from ..log import parse_log_format

    parse_log_format(text)  # refused on the command line, as rclone does
    return text


def _partial_suffix(text: str) -> str:
    from ..backends.local import _partial_suffix as check  # only when the flag is given

    return check(text)


def _default_time(text: str) -> str:
    from .formats import parse_default_time

    parse_default_time(text)
    return text


def _header(text: str) -> str:
    from ..net import parse_header

    parse_header(text)
    return text

if TYPE_CHECKING:
    from ..backend import Backend
    from ..config import Config

__all__ = ["COMMANDS", "App", "cli", "get_app", "main", "pass_app"]

log = logging.getLogger("cloudsync.cli")

F = TypeVar("F", bound=Callable[..., Any])

#: name → (module, attribute, one-line help).  Help text lives here so ``--help`` needs no import.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "about": ("cmd_ops", "about", "Get quota information from the remote."),
    "backend": ("cmd_ops", "backend", "Backend-specific commands (features)."),
    "cat": ("cmd_list", "cat", "Concatenate files and send them to stdout."),
    "check": ("cmd_sync", "check", "Check that the files in source and destination match."),
    "checksum": ("cmd_checksum", "checksum", "Checks that hashsums of destination files match the SUM file."),
    "cleanup": ("cmd_ops", "cleanup", "Clean up the remote if possible (empty the trash)."),
    "completion": ("cmd_ops", "completion", "Output a shell completion script (bash, zsh, fish)."),
    "config": ("cmd_config", "config", "Enter an interactive configuration session, or manage remotes."),
    "copy": ("cmd_sync", "copy", "Copy files from source to dest, skipping identical files."),
    "copyto": ("cmd_sync", "copyto", "Copy files from source to dest, skipping identical files."),
    "delete": ("cmd_ops", "delete", "Remove the files in path."),
    "deletefile": ("cmd_ops", "deletefile", "Remove a single file from remote."),
    "help": ("cmd_help", "help_group", "Show help for backends (help backends, help backend NAME)."),
    "hashcache": ("cmd_hashcache", "hashcache", "Show or clear the persistent cache of local file hashes."),
    "hashsum": ("cmd_list", "hashsum", "Produces a hashsum file for all the objects in the path."),
    "link": ("cmd_ops", "link", "Generate a public link to a file/folder."),
    "listremotes": ("cmd_config", "listremotes", "List all the remotes in the config file and environment."),
    "ls": ("cmd_list", "ls", "List the objects in the path with size and path."),
    "lsd": ("cmd_list", "lsd", "List all directories/containers/buckets in the path."),
    "lsf": ("cmd_list", "lsf", "List directories and objects in remote:path formatted for parsing."),
    "lsjson": ("cmd_list", "lsjson", "List directories and objects in the path in JSON format."),
    "lsl": ("cmd_list", "lsl", "List the objects in path with modification time, size and path."),
    "md5sum": ("cmd_list", "md5sum", "Produces an md5sum file for all the objects in the path."),
    "mkdir": ("cmd_ops", "mkdir", "Make the path if it doesn't already exist."),
    "move": ("cmd_sync", "move", "Move files from source to dest."),
    "moveto": ("cmd_sync", "moveto", "Move file or directory from source to dest."),
    "obscure": ("cmd_config", "obscure", "Obscure a password for use in the config file."),
    "purge": ("cmd_ops", "purge", "Remove the path and all of its contents."),
    "rcat": ("cmd_ops", "rcat", "Copies standard input to file on remote."),
    "restore": ("cmd_history", "restore", "Make an older version of a file or folder tree current again."),
    "reveal": ("cmd_config", "reveal", "Reveal an obscured password (rclone obscure's format)."),
    "rmdir": ("cmd_ops", "rmdir", "Remove the empty directory at path."),
    "rmdirs": ("cmd_ops", "rmdirs", "Remove empty directories under the path."),
    "serve": ("cmd_ops", "serve", "Serve a remote or a fake server (serve jottacloud …)."),
    "sha1sum": ("cmd_list", "sha1sum", "Produces a sha1sum file for all the objects in the path."),
    "size": ("cmd_list", "size", "Prints the total size and number of objects in remote:path."),
    "sync": ("cmd_sync", "sync", "Make source and dest identical, modifying destination only."),
    "trash": ("cmd_history", "trash", "List, restore or remove what is in the trash."),
    "touch": ("cmd_touch", "touch", "Create new file or change file modification time."),
    "tree": ("cmd_list", "tree", "List the contents of the remote in a tree like fashion."),
    "version": ("cmd_ops", "version", "Show the version number."),
    "versions": ("cmd_history", "versions", "List the stored versions of a file."),
}


# ------------------------------------------------------------------------------ settings


@dataclass
class Settings:
    """Global flags, wherever on the command line they were given (declared once, see
    :func:`cloudsync.options.flag`)."""

    verbose: int = flag(0, "Print lots more stuff (repeat for more).", kind="count", short="-v")
    quiet: bool = flag(False, "Print as little stuff as possible.", short="-q")
    log_level: str | None = flag(None, "Log level DEBUG|INFO|NOTICE|ERROR.", exclusive=True,
                                 examples=(("DEBUG", ""), ("INFO", ""), ("NOTICE", ""), ("ERROR", "")))
    log_file: str | None = flag(None, "Log everything to this file.", metavar="FILE")
    use_json_log: bool = flag(False, "Use JSON log format.")
    log_format: str = flag("date,time", "Comma separated list of log format options: date, time, "
                           "microseconds, UTC, longfile, shortfile, pid, nolevel, json.",
                           parser=_log_format, metavar="LIST")
    syslog: bool = flag(False, "Use Syslog for logging (the local syslog daemon, /dev/log).")
    syslog_facility: str = flag("DAEMON", "Facility for syslog, e.g. KERN,USER.", metavar="FACILITY")
    config: str | None = flag(None, 'Config file ("" = in memory).', metavar="FILE",
                              default_text="~/.config/cloudsync/cloudsync.conf")
    stats: str | None = flag(None, "Interval between printing stats, e.g. 500ms, 60s, 5m (0 to disable).",
                             metavar="DURATION")
    stats_one_line: bool = flag(False, "Make the stats fit on one line.")
    stats_one_line_date: bool = flag(False, "Enable --stats-one-line and add current date/time "
                                     "prefix.")
    stats_one_line_date_format: str = flag(
        "", "Enable --stats-one-line-date and use custom formatted date (Go's layout, e.g. "
            "'2006-01-02 15:04:05').", metavar="LAYOUT")
    stats_file_name_length: int = flag(45, "Max file name length in stats (0 for no limit).",
                                       parser=non_negative_int)
    stats_unit: str = flag("bytes", "Show data rate in stats as either 'bits' or 'bytes' per second.",
                           examples=(("bytes", ""), ("bits", "")), exclusive=True)
    stats_log_level: str | None = flag(None, "Log level to show --stats output DEBUG|INFO|NOTICE|ERROR.",
                                       exclusive=True, default_text="INFO",
                                       examples=(("DEBUG", ""), ("INFO", ""), ("NOTICE", ""), ("ERROR", "")))
    contimeout: float = flag(60.0, "Connect timeout (0 = none).", kind="duration", metavar="DURATION",
                             parser=parse_duration)
    timeout: float = flag(300.0, "IO idle timeout (0 = none).", kind="duration", metavar="DURATION",
                          parser=parse_duration)
    low_level_retries: int = shared_flag(LOW_LEVEL_RETRIES)
    tpslimit: float = flag(0.0, "Limit HTTP transactions per second to this, all remotes together "
                           "(JottaCloud; local and memory remotes make no HTTP transactions).",
                           kind="float", parser=non_negative_float, default_text="off",
                           metavar="FLOAT")
    tpslimit_burst: int = flag(1, "Max burst of transactions for --tpslimit.", parser=positive_int)
    max_connections: int = flag(0, "Maximum number of simultaneous backend API calls per remote "
                                "(JottaCloud), 0 for unlimited.", parser=non_negative_int)
    user_agent: str = flag("", "Set the user-agent to a specified string (JottaCloud's HTTP "
                           "requests).", default_text="cloudsync/0.1 (jottacloud)", metavar="STRING")
    ca_cert: tuple[str, ...] = flag((), "CA certificate used to verify servers (PEM; repeatable: "
                                    "then only these CAs are trusted, as rclone).", multiple=True,
                                    metavar="FILE")
    header: tuple[str, ...] = flag((), "Set HTTP header for all transactions ('Name: value').",
                                   multiple=True, metavar="HEADER", parser=_header,
                                   env_split="\n")
    header_upload: tuple[str, ...] = flag((), "Set HTTP header for upload transactions.",
                                          multiple=True, metavar="HEADER", parser=_header,
                                   env_split="\n")
    header_download: tuple[str, ...] = flag((), "Set HTTP header for download transactions.",
                                            multiple=True, metavar="HEADER", parser=_header,
                                   env_split="\n")
    no_gzip_encoding: bool = flag(False, "Don't set Accept-Encoding: gzip.")
    disable_http_keep_alives: bool = flag(False, "Disable HTTP keep-alives and use each "
                                          "connection once.")
    http_proxy: str = flag("", "HTTP proxy URL (else the HTTPS_PROXY/HTTP_PROXY variables).",
                           metavar="URL")
    bind: str = flag("", "Local address to bind to for outgoing connections, IPv4, IPv6 or name.",
                     metavar="ADDRESS")
    client_cert: str = flag("", "Client SSL certificate (PEM) for mutual TLS auth.", metavar="FILE")
    client_key: str = flag("", "Client SSL private key (PEM) for mutual TLS auth (unencrypted: "
                           "rclone's --client-pass is not supported).", metavar="FILE")
    no_check_certificate: bool = flag(False, "Refused: cloudsync never turns TLS verification off "
                                      "(trust a private CA with --ca-cert instead).")
    # rclone tuning flags that have no counterpart here: accepted (so scripts keep working) and
    # said to change nothing, with the reason; their values are still checked
    buffer_size: int = flag(16 << 20, "Accepted for rclone compatibility and changes nothing: "
                            "cloudsync reads each file in 1 MiB chunks with no read-ahead buffer.",
                            kind="size", parser=parse_size, metavar="SIZE")
    multi_thread_streams: int = flag(4, "Accepted for rclone compatibility and changes nothing: "
                                     "cloudsync transfers each file in one stream.",
                                     parser=non_negative_int)
    multi_thread_cutoff: int = flag(256 << 20, "Accepted for rclone compatibility and changes "
                                    "nothing (see --multi-thread-streams).", kind="size",
                                    parser=parse_size, metavar="SIZE")
    disable_http2: bool = flag(False, "Accepted for rclone compatibility and changes nothing: "
                               "cloudsync speaks HTTP/1.1 only.")
    use_mmap: bool = flag(False, "Accepted for rclone compatibility and changes nothing: "
                          "cloudsync's buffers are Python's own.")
    dump: str = flag("", "Comma separated list of HTTP items to dump at DEBUG (implies -vv): "
                     "headers, bodies, requests, responses, auth.  Secrets (Authorization, "
                     "cookies, tokens, passwords) are always masked, auth included.",
                     parser=_dump, metavar="LIST")
    default_time: str = flag("2000-01-01T00:00:00Z", "Time to show if modtime is unknown for files "
                             "(listings; a folder without one shows the listing's time).",
                             parser=_default_time, metavar="TIME")
    human_readable: bool = flag(False, "Print sizes in human readable format (ls, lsl, lsd: 1.953Ki).")
    progress: bool = flag(False, "Show progress during transfer (on a terminal).", short="-P")
    disable: tuple[str, ...] = flag(
        (), "Disable a comma separated list of backend features (copy, move, dir_move, purge, "
            "list_recursive/ListR, set_modtime, cleanup, public_link, set_dir_modtime/DirSetModTime).",
        multiple=True, metavar="FEATURE,...")
    copy_links: bool = flag(False, "Follow symlinks and copy the pointed to item.", short="-L")
    links: bool = flag(False, "Translate symlinks to/from regular files with a '.rclonelink' "
                       "extension (local remotes; other remotes just store the files).", short="-l")
    skip_links: bool = flag(False, "Don't warn about skipped symlinks.")
    one_file_system: bool = flag(False, "Don't cross filesystem boundaries (local remotes; "
                                 "unix/macOS only).", short="-x")
    partial_suffix: str = flag(".partial", "Suffix of the temporary name a local file is written "
                               "under before it is renamed into place (cloudsync's temporary "
                               "names also start with a dot: .NAME.CRC32.partial; JottaCloud "
                               "uploads become visible only when complete).",
                               parser=_partial_suffix, metavar="SUFFIX")
    temp_dir: str = flag("", "Directory cloudsync will use for temporary files.",
                         default_text="$TMPDIR or /tmp", metavar="DIR")
    cache_dir: str = flag("", "Directory cloudsync will use for caching (the hash cache).",
                          default_text="~/.cache/cloudsync", metavar="DIR")
    no_hash_cache: bool = flag(False, "Don't use the persistent cache of local file hashes (hash every file).")
    ask_password: bool = flag(True, "Allow prompt for password for encrypted configuration "
                              "(--ask-password=false: never prompt, fail instead).")
    password_command: str | None = flag(
        None, "Command whose first output line is the config password (an encrypted config).",
        metavar="COMMAND")
    backend_flags: dict[str, dict[str, str]] = field(default_factory=dict)
    explicit: set[str] = field(default_factory=set)
    #: global flags given to a command that has no use for them (accepted, as rclone accepts
    #: every global flag everywhere; named at -vv)
    ignored_flags: list[str] = field(default_factory=list)


#: global flags that set the local backend's option of the same name
_LOCAL_FLAGS = ("copy_links", "links", "skip_links", "one_file_system")

#: name → declaration of each global flag (values given as text are parsed to their kind)
_SETTINGS_OPTIONS = {opt.name: opt for _, opt in flag_options(Settings)}

_SETTINGS_KEY = "cloudsync.settings"
_APP_KEY = "cloudsync.app"


def _settings(ctx: click.Context) -> Settings:
    root = ctx.find_root()
    settings = root.meta.get(_SETTINGS_KEY)
    if settings is None:
        settings = root.meta[_SETTINGS_KEY] = Settings()
    assert isinstance(settings, Settings)
    return settings


def _store_global(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    name = param.name
    assert name is not None
    settings = _settings(ctx)
    source = ctx.get_parameter_source(name)
    given = source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    if not given:
        return value
    option = _SETTINGS_OPTIONS.get(name)
    try:
        if option is not None and isinstance(value, str) and (option.kind != "str" or option.parser):
            value = option.parse(value)
        elif option is not None and option.multiple and option.parser:
            value = tuple(option.parse(v) for v in value or ())
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    if name == "verbose":
        value = max(settings.verbose, int(value or 0))
    elif option is not None and option.multiple:
        # given both before and after the command name: both count
        value = getattr(settings, name) + tuple(value or ())
    setattr(settings, name, value)
    settings.explicit.add(name)
    return value


_GLOBAL_PARAMS: list[click.Option] = []


def _global_params() -> list[click.Option]:
    # Built once and shared by every command that carries them (a click option holds no
    # per-command state): a module of listing commands would otherwise build them per command.
    if not _GLOBAL_PARAMS:
        for _, opt in flag_options(Settings):
            _GLOBAL_PARAMS.extend(click_params(opt, expose_value=False, callback=_store_global,
                                               is_eager=True))
    return _GLOBAL_PARAMS


def global_options(f: F) -> F:
    """Attach the global flags to a command (they may follow the subcommand name)."""
    params = getattr(f, "__click_params__", [])
    params.extend(reversed(_global_params()))
    f.__click_params__ = params  # type: ignore[attr-defined]
    return f


# ------------------------------------------------------------------------------ backend flags


def split_backend_flags(args: Sequence[str], known: Callable[[str], bool] | None = None,
                        ) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Take ``--<backend>-<option>[=value]`` flags out of ``args``.

    Built-in backend types are matched by name; plugin types come from entry points, which are
    only read for a flag that is neither a built-in backend's nor ``known`` (a flag of the
    command line itself): importing importlib.metadata costs more than the rest of start-up.
    No backend is imported unless such a flag is present; a flag whose option the backend does
    not declare is left for click to reject.
    """
    candidates = [a for a in args if a.startswith("--") and len(a) > 2]
    if not candidates:
        return list(args), {}
    from ..registry import builtin_types, get_spec, plugin_types

    builtins = builtin_types()
    plugins: list[str] | None = None
    out: list[str] = []
    flags: dict[str, dict[str, str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        matched = False
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            types = [t for t in builtins if name.startswith(t + "-")]
            if not types and "-" in name and not (known is not None and known(name)):
                if plugins is None:
                    plugins = plugin_types()
                types = [t for t in plugins if name.startswith(t + "-")]
            for type_name in types:
                opt_name = name[len(type_name) + 1 :].replace("-", "_")
                try:
                    spec = get_spec(type_name)
                    opt = spec.option(opt_name)
                except (KeyError, CloudsyncError):
                    continue
                if not eq:
                    if opt.kind == "bool":
                        value = "true"
                    elif i + 1 < len(args):
                        i += 1
                        value = args[i]
                    else:
                        raise click.UsageError(f"flag needs an argument: --{name}")
                flags.setdefault(spec.name, {})[opt.name] = value
                matched = True
                break
        if not matched:
            out.append(arg)
        i += 1
    return out, flags


# ------------------------------------------------------------------------------ foreign flags


def engine_flag_arity() -> dict[str, bool]:
    """``--name``/``-x`` → takes a value, for every engine and filter flag (any command's).

    rclone accepts every global flag on every command (``rclone lsf remote: --fast-list``,
    ``rclone mkdir --retries 5``); a command simply ignores those that do not concern it.
    """
    from ..engine.options import CheckOptions, SyncOptions
    from ..filters import FilterOptions
    from ..options import flag_options

    table: dict[str, bool] = {}
    for cls in (SyncOptions, CheckOptions, FilterOptions):
        for _, opt in flag_options(cls):
            if opt.switches:
                for name, _, _ in opt.switches:
                    table[name] = False
                continue
            takes = opt.kind not in ("bool", "count")
            table[opt.flag_name()] = takes
            if opt.short:
                table[opt.short] = takes
    return table


#: click's own help options (not among a command's params)
_HELP = frozenset({"-h", "--help"})


def drop_foreign_flags(args: Sequence[str], known: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """Take the engine/filter flags that the command does not have out of ``args``.

    ``known(option)`` says whether the command (or the root group) has ``--name``/``-x``.
    The table of engine flags is only built when an unknown flag is present.
    Returns the remaining arguments and the flags taken out.
    """
    table: dict[str, bool] | None = None
    out: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out.extend(args[i:])
            break
        name, eq, _ = arg.partition("=")
        if arg.startswith("-") and len(name) > 1 and name not in _HELP and not known(name):
            if table is None:
                table = engine_flag_arity()
            takes = table.get(name)
            if takes is not None:
                dropped.append(name)
                i += 2 if takes and not eq else 1
                continue
        out.append(arg)
        i += 1
    return out, dropped


# ------------------------------------------------------------------------------ the app


class App:
    """What commands need: settings, the config (loaded on first use), backends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._config: Config | None = None
        self._logging_ready = False
        self.command: str | None = None
        #: errors a command reported and went on from (an unreadable entry of a listing):
        #: the command ends with the last of them, after printing everything else
        self.deferred_errors: list[BaseException] = []
        #: backend root → the remote as the user typed it, to name it when its root later
        #: turns out to be a file (RootIsFile: JottaCloud's listing says so, no probe is made)
        self._typed: dict[str, str] = {}

    def entry_error(self, err: BaseException, path: str) -> None:
        """Log an error for one entry and go on; the command fails at its end (rclone)."""
        where = (err.path if isinstance(err, CloudsyncError) else None) or path
        text = err.message if isinstance(err, CloudsyncError) and err.message else str(err)
        log.error("%s: %s", where, text) if where else log.error("%s", text)
        self.deferred_errors.append(err)

    @property
    def verbosity(self) -> int:
        s = self.settings
        if s.log_level:
            return {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "NOTICE": NOTICE,
                    "ERROR": logging.ERROR}[s.log_level.upper()]
        if s.dump:  # as rclone: --dump implies -vv (a dump is DEBUG lines)
            return logging.DEBUG
        if s.quiet:
            return logging.ERROR
        if s.verbose >= 2:
            return logging.DEBUG
        if s.verbose == 1:
            return logging.INFO
        return NOTICE

    def setup_logging(self) -> None:
        if self._logging_ready:
            return
        from ..log import SYSLOG_FACILITIES, parse_log_format, setup_logging

        s = self.settings
        bits = parse_log_format(s.log_format)
        facility = None
        if s.syslog:
            facility = s.syslog_facility.upper()
            problem = ("Can't use --syslog and --log-file together" if s.log_file
                       else f'Unknown syslog facility "{s.syslog_facility}" - man syslog for list'
                       if facility not in SYSLOG_FACILITIES else None)
            if problem:
                raise self._stderr_logging_error(bits, problem, "start logging")
        try:
            setup_logging(self.verbosity, log_file=s.log_file, json_log=s.use_json_log,
                          stream=sys.stderr, log_format=bits, syslog_facility=facility)
        except OSError as exc:
            if facility:
                from ..log import SYSLOG_ADDRESS

                raise self._stderr_logging_error(
                    bits, f"{exc.strerror or exc}: {SYSLOG_ADDRESS}", "start syslog",
                    hint="is a syslog daemon running? or log with --log-file") from None
            # one line on stderr (rclone: "Failed to open log file"), exit 1
            raise self._stderr_logging_error(
                bits, f"{exc.strerror or exc}: {s.log_file}", "open log file",
                hint="create its folder first" if isinstance(exc, FileNotFoundError)
                else "give another --log-file") from None
        self._logging_ready = True
        if self.settings.ignored_flags:
            log.debug("%s not used by this command (accepted: rclone takes every global flag "
                      "on every command)", ", ".join(self.settings.ignored_flags))

    def _stderr_logging_error(self, bits: frozenset[str], message: str, context: str, *,
                              hint: str | None = None) -> CloudsyncError:
        """The chosen log destination failed: log to stderr after all, so the one-line error
        (``Failed to <context>: <message>``, exit 1) is seen, and return that error."""
        from ..errors import ConfigError
        from ..log import setup_logging

        setup_logging(self.verbosity, json_log=self.settings.use_json_log, stream=sys.stderr,
                      log_format=bits)
        self._logging_ready = True
        err = ConfigError(message, hint=hint)
        err.cli_context = context  # type: ignore[attr-defined]
        return err

    def setup_dirs(self) -> None:
        """``--temp-dir`` and ``--cache-dir``: every temporary file, and the hash cache.

        Imports nothing unless a flag is given or an earlier in-process run used one (start-up).
        """
        s = self.settings
        if "default_time" in s.explicit or "cloudsync.cli.formats" in sys.modules:
            from . import formats

            formats.DEFAULT_TIME_NS = formats.parse_default_time(s.default_time)
        if not (s.temp_dir or s.cache_dir or "tempfile" in sys.modules
                or "cloudsync.hashcache" in sys.modules):
            return
        import tempfile

        from ..errors import ConfigError

        for flag_name, value in (("--temp-dir", s.temp_dir), ("--cache-dir", s.cache_dir)):
            if value and not os.path.isdir(os.path.expanduser(value)):
                if flag_name == "--cache-dir":
                    try:  # rclone creates its cache directory
                        os.makedirs(os.path.expanduser(value), exist_ok=True)
                        continue
                    except OSError:
                        pass
                raise ConfigError(f"{flag_name}: not a directory: {value}",
                                  hint="give an existing directory")
        # (None: Python's own choice again, for in-process runs after one with --temp-dir)
        tempfile.tempdir = os.path.abspath(os.path.expanduser(s.temp_dir)) if s.temp_dir else None
        from .. import hashcache

        hashcache.set_cache_dir(os.path.expanduser(s.cache_dir) if s.cache_dir else None)

    def setup_network(self) -> None:
        """Hand the global HTTP flags to :mod:`cloudsync.net` (backends read them there)."""
        s = self.settings
        if {"timeout", "contimeout"} & s.explicit:
            from ..net import set_timeouts

            set_timeouts(s.contimeout, s.timeout)
        # always (not only when given): in-process runs must not inherit an earlier run's flags
        from ..net import configure, parse_dump, parse_header

        if s.no_check_certificate:
            from ..errors import UsageError

            raise UsageError("--no-check-certificate is not supported: cloudsync never turns TLS "
                             "verification off; trust a private CA with --ca-cert FILE")
        for flag_name, path in (("--client-cert", s.client_cert), ("--client-key", s.client_key)):
            if path and not os.path.isfile(path):
                from ..errors import ConfigError

                raise ConfigError(f"{flag_name}: no such file: {path}",
                                  hint="give the path of a PEM file")

        configure(tpslimit=s.tpslimit, tpslimit_burst=s.tpslimit_burst,
                  max_connections=s.max_connections, user_agent=s.user_agent,
                  ca_certs=tuple(s.ca_cert), dump=parse_dump(s.dump),
                  headers=tuple(parse_header(h) for h in s.header),
                  upload_headers=tuple(parse_header(h) for h in s.header_upload),
                  download_headers=tuple(parse_header(h) for h in s.header_download),
                  no_gzip=s.no_gzip_encoding, no_keepalive=s.disable_http_keep_alives,
                  proxy=s.http_proxy, bind=s.bind, client_cert=s.client_cert,
                  client_key=s.client_key)
        if s.dump and not s.log_level and s.verbose < 2:
            notice(log, "Automatically setting -vv as --dump is enabled")
        if s.tpslimit > 0:
            log.info("Starting transaction limiter: max %g transactions/s with burst %d",
                     s.tpslimit, s.tpslimit_burst)

    @property
    def config(self) -> Config:
        if self._config is None:
            from ..config import Config

            self._config = Config.load(self.settings.config,
                                       password_command=self.settings.password_command,
                                       ask_password=self.settings.ask_password)
        return self._config

    def _backend_flags(self) -> dict[str, dict[str, str]]:
        flags = {k: dict(v) for k, v in self.settings.backend_flags.items()}
        # rclone's local options that are global flags too (-L, -l, -x, --skip-links)
        for name in _LOCAL_FLAGS:
            if getattr(self.settings, name):
                flags.setdefault("local", {}).setdefault(name, "true")
        if "partial_suffix" in self.settings.explicit:
            flags.setdefault("local", {}).setdefault("partial_suffix", self.settings.partial_suffix)
        return flags

    def _disable(self) -> tuple[str, ...]:
        from ..remote import parse_disable

        values: list[str] = []
        for value in self.settings.disable:
            values.extend(value.split())
        return parse_disable(values)

    def open(self, remote: str, *, file_ok: bool = True) -> tuple[Backend, str | None]:
        """Backend for ``remote`` (or its parent plus a file name, rclone's FsIsFile)."""
        from ..remote import open_backend

        try:
            backend, leaf = open_backend(remote, self.config, backend_flags=self._backend_flags(),
                                         disable=self._disable(), file_ok=file_ok,
                                         low_level_retries=self.settings.low_level_retries)
        except CloudsyncError as err:
            _set_context(err, f'create file system for "{remote}"')
            raise
        if leaf is None:
            self._typed[backend.root] = remote
        return backend, leaf

    def not_a_directory(self, remote: str) -> IsFileError:
        """rclone's error for a directory remote that names a file (exit 1)."""
        err = IsFileError("is a file not a directory")
        err.cli_context = f'create file system for "{remote}"'  # type: ignore[attr-defined]
        return err

    def root_is_file(self, err: RootIsFile) -> CloudsyncError:
        """A root found to be a file during a command, said as rclone says it at the start."""
        remote = self._typed.get(err.path or "")
        return err if remote is None else self.not_a_directory(remote)

    def open_dir(self, remote: str) -> Backend:
        backend, _ = self.open(remote, file_ok=False)
        return backend

    def open_parent(self, remote: str) -> tuple[Backend, str]:
        from ..remote import open_parent

        try:
            return open_parent(remote, self.config, backend_flags=self._backend_flags(),
                               disable=self._disable(),
                               low_level_retries=self.settings.low_level_retries)
        except CloudsyncError as err:
            _set_context(err, f'create file system for "{remote}"')
            raise


def _set_context(err: CloudsyncError, context: str) -> None:
    if getattr(err, "cli_context", None) is None:
        err.cli_context = context  # type: ignore[attr-defined]


def get_app(ctx: click.Context | None = None) -> App:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    app = root.meta.get(_APP_KEY)
    if app is None:
        app = root.meta[_APP_KEY] = App(_settings(ctx))
    assert isinstance(app, App)
    return app


def pass_app(f: F) -> F:
    """Decorator: call the command with the :class:`App` first, logging already set up."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app = get_app(ctx)
        # "config create", "copy" …: what "Failed to <command>" names.
        app.command = " ".join(ctx.command_path.split()[1:]) or None
        app.setup_logging()
        app.setup_network()
        app.setup_dirs()
        if app.settings.no_hash_cache:
            from ..hashcache import configure

            configure(enabled=False)
        result = f(app, *args, **kwargs)
        if app.deferred_errors:
            n = len(app.deferred_errors)
            last = app.deferred_errors[-1]
            if n > 1 and isinstance(last, CloudsyncError):
                last.cli_context = f"{app.command} with {n} errors: last error was"  # type: ignore[attr-defined]
            raise last
        return result

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    if hasattr(f, "__click_params__"):
        wrapper.__click_params__ = f.__click_params__  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


# ------------------------------------------------------------------------------ the group


def report_error(err: BaseException, command: str | None) -> int:
    """Log the one line a user sees for ``err``; return the exit code."""
    app = get_app()
    app.setup_logging()
    if isinstance(err, RootIsFile):
        err = app.root_is_file(err)
    if isinstance(err, CloudsyncError):
        context = getattr(err, "cli_context", None) or (command and f"{command}")
        text = str(err)
        if context:
            text = f"Failed to {context}: {text}"
        log.error(text)
        return exit_code_for(err)
    log.error("internal error (this is a bug in cloudsync, please report it): %s: %s",
              type(err).__name__, err)
    log.debug("traceback", exc_info=err)
    return ExitCode.UNCATEGORIZED


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str, str]] | None = None,
                 package: str = "cloudsync.cli", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.package = package

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.lazy) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = self.lazy.get(cmd_name)
        if spec is None:
            return None
        import importlib

        module = importlib.import_module(f"{self.package}.{spec[0]}")
        command = getattr(module, spec[1])
        assert isinstance(command, click.Command)
        from .examples import attach_examples

        attach_examples(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][2]) for name in sorted(self.lazy)]
        rows += [(n, c.get_short_help_str()) for n, c in sorted(self.commands.items()) if n not in self.lazy]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class RootGroup(LazyGroup):
    def _known_flag(self, ctx: click.Context, args: list[str]) -> Callable[[str], bool]:
        """``opt`` → is ``opt`` (``--name`` or ``-x``) a flag of this group or of a command
        named in ``args``."""
        names: set[str] | None = None

        def known(name: str) -> bool:
            nonlocal names
            if names is None:
                names = set()
                for cmd in self._commands_in(ctx, args):
                    for param in cmd.params:
                        names.update(o for o in (*param.opts, *param.secondary_opts)
                                     if o.startswith("-"))
            return name in names

        return known

    def _commands_in(self, ctx: click.Context, args: list[str]) -> list[click.Command]:
        """This group and the commands named in ``args`` (for flags given after them): the
        command, then a group's subcommand (config userinfo, trash ls …)."""
        commands: list[click.Command] = [self]
        group: click.Group = self
        for arg in args:
            cmd = (group.get_command(ctx, arg)
                   if not arg.startswith("-") and arg in group.list_commands(ctx) else None)
            if cmd is not None:
                commands.append(cmd)
                if isinstance(cmd, click.Group):
                    group = cmd
        return commands

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a.startswith("--") and "=" in a for a in args):
            from .flags import bool_assignments

            args = bool_assignments(args, self._commands_in(ctx, args))
        known = self._known_flag(ctx, args)
        args, flags = split_backend_flags(args, known=lambda name: known("--" + name))
        settings = _settings(ctx)
        for type_name, values in flags.items():
            settings.backend_flags.setdefault(type_name, {}).update(values)
        if any(a.startswith("-") for a in args):
            args, settings.ignored_flags = drop_foreign_flags(args, known)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # `cloudsync ls remote: | head`: stop quietly, like rclone.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            ctx.exit(ExitCode.UNCATEGORIZED)
        except KeyboardInterrupt:
            raise
        except Exception as err:
            ctx.exit(report_error(err, get_app(ctx).command or ctx.invoked_subcommand))


def _version() -> str:
    from .. import __version__

    return __version__


@click.group(
    cls=RootGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100,
                      "show_default": True},
)
@click.version_option(_version(), "-V", "--version", prog_name="cloudsync",
                      message="%(prog)s v%(version)s")
@global_options
def cli() -> None:
    """Sync, copy and check files between local disks, memory and JottaCloud, the rclone way.

    Remotes are written like rclone's: `name:path`, a local path, `local:/path`,
    `:memory:path` or `:backend,key=value:path`.  Run `cloudsync config` to add one.
    Backend options can be given as `--<backend>-<option> VALUE` flags too.
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="cloudsync")
    except BrokenPipeError:  # pragma: no cover - the group already handles most cases
        sys.exit(ExitCode.UNCATEGORIZED)
