"""``config`` (wizard and subcommands) and ``listremotes``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, UsageError
from . import formats
from .app import App, global_options, pass_app

if TYPE_CHECKING:
    from ..options import BackendSpec

__all__ = ["config", "listremotes", "obscure", "reveal"]


def _strip(name: str) -> str:
    return name[:-1] if name.endswith(":") else name


def _spec_for_create(type_name: str) -> BackendSpec:
    from ..registry import get_spec

    try:
        return get_spec(type_name)
    except ConfigError:
        raise UsageError(f'couldn\'t find backend for type "{type_name}"') from None


def _pairs(spec: BackendSpec, args: Sequence[str]) -> dict[str, str]:
    """``key=value`` arguments and rclone's ``key value`` pairs, validated against the spec."""
    values: dict[str, str] = {}
    items = list(args)
    i = 0
    while i < len(items):
        item = items[i]
        if "=" in item:
            key, value = item.split("=", 1)
        elif i + 1 < len(items):
            key, value = item, items[i + 1]
            i += 1
        else:
            raise UsageError(f"found key without value: {item!r}")
        i += 1
        key = key.strip().replace("-", "_")
        if key == "type":
            raise UsageError("can't set type with key=value")
        try:
            opt = spec.option(key)
        except KeyError:
            known = ", ".join(o.name for o in spec.options)
            raise UsageError(f"{spec.name} has no option {key!r}", hint=f"known: {known}") from None
        try:
            opt.parse(value)
        except ValueError as exc:
            raise UsageError(f"bad value for {key}: {exc}") from None
        values[opt.name] = value
    return values


def _prompter() -> object:
    from .wizard import ClickPrompter, NonInteractivePrompter

    return ClickPrompter() if sys.stdin.isatty() else NonInteractivePrompter()


@click.group("config", invoke_without_command=True,
             help="Enter an interactive configuration session, or manage remotes with a subcommand.")
@global_options
@click.pass_context
def config(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from .app import get_app
    from .wizard import wizard

    app = get_app()
    app.setup_logging()
    wizard(app.config)


@config.command("create", help="Create a new remote: config create NAME TYPE [KEY=VALUE | KEY VALUE]…")
@click.option("--non-interactive", is_flag=True, help="Never ask questions (fail instead).")
@click.argument("name")
@click.argument("type_name", metavar="TYPE")
@click.argument("args", nargs=-1)
@global_options
@pass_app
def create(app: App, name: str, type_name: str, args: tuple[str, ...], non_interactive: bool) -> None:
    from ..remote import check_remote_name
    from .wizard import NonInteractivePrompter, run_flow

    name = _strip(name)
    check_remote_name(name)
    spec = _spec_for_create(type_name)
    values = _pairs(spec, args)
    cfg = app.config
    # An existing remote of that name is updated, keys merged, exit 0 – as rclone 1.75 does.
    if spec.configure is not None:
        prompter = NonInteractivePrompter() if non_interactive else _prompter()
        values = run_flow(prompter, spec, values)  # type: ignore[arg-type]
    missing = [o.name for o in spec.options if o.required and o.name not in values and o.default is None]
    if missing:
        raise UsageError(f"missing required option(s) for {spec.name}: {', '.join(missing)}")
    cfg.set_values(name, {"type": spec.name, **values}, spec=spec, create=True)
    _print_section(app, name)


@config.command("update", help="Update options of a remote: config update NAME [KEY=VALUE | KEY VALUE]…")
@click.argument("name")
@click.argument("args", nargs=-1)
@global_options
@pass_app
def update(app: App, name: str, args: tuple[str, ...]) -> None:
    from ..registry import get_spec

    name = _strip(name)
    cfg = app.config
    sections = cfg.file_sections()
    if name not in sections:
        raise ConfigError(f'didn\'t find section in config file ("{name}")')
    spec = get_spec(sections[name].get("type", ""))
    values = _pairs(spec, args)
    cfg.set_values(name, values, spec=spec)
    _print_section(app, name)


@config.command("delete", help="Delete an existing remote.")
@click.argument("name")
@global_options
@pass_app
def delete(app: App, name: str) -> None:
    app.config.delete_remote(_strip(name))


def _print_section(app: App, name: str, *, redact: bool = True) -> None:
    data = app.config.show(name, redact=redact)
    for section, values in data.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            click.echo(f"{key} = {value}")
        click.echo("")


@config.command("show", help="Print the (decrypted) config file, or the config for a single remote.")
@click.argument("name", required=False)
@click.option("--show-secrets", is_flag=True, help="Show secret values (tokens, passwords) instead of XXX.")
@global_options
@pass_app
def show(app: App, name: str | None, show_secrets: bool) -> None:
    cfg = app.config
    names = [_strip(name)] if name else [r.name for r in cfg.remotes() if r.source == "file"]
    if not names and not name:
        click.echo("; empty config")
        return
    for remote in names:
        _print_section(app, remote, redact=not show_secrets)


@config.command("redacted", help="Print the config with secrets redacted (safe to share).")
@click.argument("name", required=False)
@global_options
@pass_app
def redacted(app: App, name: str | None) -> None:
    cfg = app.config
    names = [_strip(name)] if name else [r.name for r in cfg.remotes() if r.source == "file"]
    for remote in names:
        _print_section(app, remote, redact=True)


@config.command("dump", help="Dump the config file as JSON (secrets redacted unless --show-secrets).")
@click.option("--show-secrets", is_flag=True, help="Include secret values.")
@global_options
@pass_app
def dump(app: App, show_secrets: bool) -> None:
    data = app.config.show(None, redact=not show_secrets)
    click.echo(json.dumps(data, indent=4, sort_keys=True, ensure_ascii=False))


@config.command("file", help="Show path of configuration file in use.")
@global_options
@pass_app
def file_(app: App) -> None:
    path = app.config.path
    if path is None:
        click.echo("Configuration is in memory only")
    elif path.exists():
        click.echo(f"Configuration file is stored at:\n{path}")
    else:
        click.echo(f"Configuration file doesn't exist, but cloudsync will use this path:\n{path}")


@config.group("encryption", help="Encrypt the config file with a password (set|remove|check).")
def encryption() -> None:
    pass


@encryption.command("set", help="Encrypt the config file (or change its password).")
@global_options
@pass_app
def encryption_set(app: App) -> None:
    cfg = app.config
    if cfg.path is None:
        raise ConfigError("an in-memory config cannot be encrypted")
    if cfg.encrypted and not sys.stdin.isatty():
        raise ConfigError("the config file is already encrypted",
                          hint="to change the password run this on a terminal, or remove then set")
    password = cfg.passwords.new_password(cfg.path) if not cfg.encrypted else _prompt_new()
    cfg.set_encryption(password)
    click.echo(f"Config file {cfg.path} is now encrypted.")


def _prompt_new() -> str:
    import getpass

    first = getpass.getpass("New config password: ")
    if not first or getpass.getpass("Confirm the new config password: ") != first:
        raise ConfigError("empty or differing passwords; nothing changed")
    return first


@encryption.command("remove", help="Store the config file unencrypted again.")
@global_options
@pass_app
def encryption_remove(app: App) -> None:
    cfg = app.config
    if not cfg.encrypted:
        click.echo(f"Config file {cfg.path} is not encrypted.")
        return
    cfg.remove_encryption()
    click.echo(f"Config file {cfg.path} is no longer encrypted.")


@encryption.command("check", help="Check that the config file is encrypted and the password opens it.")
@global_options
@pass_app
def encryption_check(app: App) -> None:
    cfg = app.config
    if not cfg.encrypted:  # (opening it with a wrong password already failed, exit 1)
        raise ConfigError(f"config file {cfg.path} is not encrypted")
    click.echo(f"Config file {cfg.path} is encrypted and the password is correct.")


@config.command("touch", help="Ensure configuration file exists.")
@global_options
@pass_app
def touch(app: App) -> None:
    app.config.touch()


@config.command("paths", help="Show paths used for configuration, cache, state.")
@global_options
@pass_app
def paths(app: App) -> None:
    import tempfile

    from ..hashcache import cache_dir
    from ..secrets import state_dir

    click.echo(f"Config file: {app.config.path or '(in memory)'}")
    click.echo(f"Cache dir:   {cache_dir()}")
    click.echo(f"Temp dir:    {tempfile.gettempdir()}")
    click.echo(f"State dir:   {state_dir()}")


@config.command("reconnect", help="Re-authenticate a remote (re-runs the backend's config flow).")
@click.argument("name")
@global_options
@pass_app
def reconnect(app: App, name: str) -> None:
    from ..registry import get_spec
    from .wizard import run_flow

    name = _strip(name)
    cfg = app.config
    layers = cfg.layers(name)
    if layers is None:
        raise ConfigError(f'didn\'t find section in config file ("{name}")')
    stored, overlay = layers
    # A remote defined by CLOUDSYNC_CONFIG_<NAME>_* variables reconnects too: the new login
    # (and its renewals, which no environment variable can take) goes into a config-file
    # section of that name, created with the remote's type.
    type_name = stored.get("type") or overlay.get("type", "")
    spec = get_spec(type_name)
    if spec.configure is None:
        raise UsageError(f"backend {spec.name!r} has nothing to reconnect")
    current = {k: v for k, v in (stored or overlay).items() if k != "type"}
    from .wizard import ClickPrompter

    # Reconnecting is interactive by nature (a new login), so ask even without a terminal.
    values = run_flow(ClickPrompter(), spec, current)
    if "type" not in stored:
        values = {"type": type_name, **values}
    cfg.set_values(name, values, spec=spec, create=True)


@config.command("edit", help="Enter an interactive configuration session (as `cloudsync config`).")
@global_options
@pass_app
def edit(app: App) -> None:
    from .wizard import wizard

    app.setup_logging()
    wizard(app.config)


def _file_section(app: App, name: str) -> dict[str, str]:
    sections = app.config.file_sections()
    if name not in sections:
        raise ConfigError(f'didn\'t find section in config file ("{name}")')
    return sections[name]


@config.command("password", help="Update password in an existing remote: config password NAME [KEY VALUE]…")
@click.argument("name")
@click.argument("args", nargs=-1)
@global_options
@pass_app
def password(app: App, name: str, args: tuple[str, ...]) -> None:
    from ..registry import get_spec

    name = _strip(name)
    spec = get_spec(_file_section(app, name).get("type", ""))
    try:
        values = _pairs(spec, args)
    except UsageError as err:
        # (named so: "password: <text>" would read as a secret to the log redaction)
        err.cli_context = "update passwords"  # type: ignore[attr-defined]
        raise
    not_secret = [k for k in values if not spec.option(k).secret]
    if not_secret:
        raise UsageError(f"{', '.join(not_secret)} of {spec.name} is not a password",
                         hint=f"use: cloudsync config update {name} KEY VALUE")
    # (secrets go to the keyring where there is one, as for config create/update)
    app.config.set_values(name, values, spec=spec)
    _print_section(app, name)


@config.command("unset", help="Unset options in an existing remote: config unset NAME KEY…")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@global_options
@pass_app
def unset(app: App, name: str, keys: tuple[str, ...]) -> None:
    name = _strip(name)
    section = _file_section(app, name)
    wanted = [k.strip().replace("-", "_") for k in keys]
    if "type" in wanted:
        raise UsageError("can't unset type", hint=f"use: cloudsync config delete {name}")
    app.config.unset(name, [k for k in wanted if k in section])


def _string_value(value: str) -> str:
    # connection-string quoting: quote (doubling quotes inside) when the value holds a
    # character the grammar uses
    if value and not any(c in value for c in ",:='\" "):
        return value
    return "'" + value.replace("'", "''") + "'"


@config.command("string", help="Print a connection string for a single remote (secrets included).")
@click.argument("remote")
@global_options
@pass_app
def string(app: App, remote: str) -> None:
    from ..registry import get_spec
    from ..remote import parse_remote

    spec_of = parse_remote(remote if ":" in remote else remote + ":")
    name = spec_of.name
    layers = app.config.layers(name)
    if layers is None:
        raise ConfigError(f'didn\'t find section in config file ("{name}")')
    stored, _ = layers
    spec = get_spec(stored.get("type", ""))
    parts = [":" + spec.name]
    for key in sorted(k for k in stored if k != "type"):
        value = app.config.get(name, key)
        if value is None:
            continue
        try:
            opt = spec.option(key)
        except KeyError:
            opt = None
        # defaults and false flags say nothing; a true flag is its bare key (as rclone prints)
        if opt is not None and value == ("" if opt.default is None else str(opt.default)):
            continue
        if opt is not None and opt.kind == "bool":
            if value.lower() in ("true", "1", "yes"):
                parts.append(key)
            elif value.lower() not in ("false", "0", "no"):
                parts.append(f"{key}={_string_value(value)}")
            continue
        parts.append(f"{key}={_string_value(value)}")
    click.echo(",".join(parts) + ":" + spec_of.path)


@config.command("userinfo", help="Prints info about logged in user of remote.")
@click.argument("remote")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@global_options
@pass_app
def userinfo(app: App, remote: str, as_json: bool) -> None:
    from ..errors import Unsupported

    backend = app.open_dir(remote)
    try:
        info = backend.user_info()
    except Unsupported:
        raise UsageError(f"{backend} doesn't support UserInfo") from None
    if as_json:
        click.echo(formats.go_json(dict(sorted(info.items())), indent="\t"))
        return
    width = max((len(k) for k in info), default=0)
    for key in sorted(info):
        click.echo(f"{key:>{width}}: {info[key]}")


@config.command("disconnect", help="Disconnects user from remote (no backend here can: "
                                   "JottaCloud has no remote log-out; use config delete).")
@click.argument("remote")
@global_options
@pass_app
def disconnect(app: App, remote: str) -> None:
    backend = app.open_dir(remote)
    raise UsageError(f"{backend} doesn't support Disconnect",
                     hint="cloudsync config delete NAME forgets the login")


@config.command("providers", help="List the backend types available, as JSON.")
@global_options
@pass_app
def providers(app: App) -> None:
    from ..registry import backend_types, get_spec

    out = []
    for type_name in backend_types():
        spec = get_spec(type_name)
        out.append({
            "Name": spec.name,
            "Description": spec.description,
            "Options": [
                {"Name": o.name, "Help": o.help, "Default": o.default, "Type": o.kind,
                 "Advanced": o.advanced, "Required": o.required, "IsPassword": o.secret,
                 "Hide": o.hidden, "Examples": [{"Value": v, "Help": h} for v, h in o.examples]}
                for o in spec.options
            ],
        })
    click.echo(json.dumps(out, indent="\t", default=str))


@click.command("listremotes", help="List all the remotes in the config file and defined in environment variables.")
@click.option("--long", "long_", is_flag=True, help="Show type as well as names.")
@click.option("--json", "as_json", is_flag=True, help="Format output as JSON.")
@global_options
@pass_app
def listremotes(app: App, long_: bool, as_json: bool) -> None:
    remotes = app.config.remotes()
    if as_json:
        out = sys.stdout
        items = [formats.go_json({"name": r.name, "type": r.type, "source": r.source,
                                  "description": r.description}) for r in remotes]
        out.write("[\n" + ",\n".join(items) + ("\n" if items else "") + "]\n")
        return
    width = max((len(r.name) + 1 for r in remotes), default=0)
    for r in remotes:
        if long_:
            click.echo(f"{r.name + ':':<{width}} {r.type}")
        else:
            click.echo(f"{r.name}:")


_SHARED_TOKEN_NOTICE = (
    "NOTICE: imported jottacloud remotes ({names}) share one login with the rclone remotes they "
    "came from: JottaCloud rotates the refresh token on every use, so whichever tool refreshes "
    "first logs the other out. To give cloudsync its own login, run: cloudsync config reconnect "
    "NAME:  (for example: cloudsync config reconnect {first}:)"
)


@config.command("import", help="""Create cloudsync remotes from an rclone config file.

Reads PATH, or rclone's own config ($RCLONE_CONFIG, ~/.config/rclone/rclone.conf,
~/.rclone.conf). An encrypted rclone config is read with the password in
RCLONE_CONFIG_PASS. jottacloud remotes keep their token, device and mountpoint and work at
once; local and memory remotes map over; other types are listed and skipped. Remotes that
already exist in cloudsync are left alone unless --overwrite.

\b
Examples:
  cloudsync config import
  RCLONE_CONFIG_PASS=secret cloudsync config import ~/backup/rclone.conf
""")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--overwrite", is_flag=True, help="Replace cloudsync remotes of the same name.")
@click.option("--dry-run", "-n", "dry_run", is_flag=True, help="Only say what would be imported.")
@global_options
@pass_app
def import_(app: App, path: str | None, overwrite: bool, dry_run: bool) -> None:
    import os
    from pathlib import Path

    from ..errors import CloudsyncError
    from ..rclone_conf import default_rclone_config_path, plan_import, read_rclone_config
    from ..registry import backend_types, get_spec
    from ..remote import check_remote_name

    source = Path(path).expanduser() if path else default_rclone_config_path()
    password = os.environ.get("RCLONE_CONFIG_PASS") or None
    sections = read_rclone_config(source, password)
    types = set(backend_types())
    known = {t: {o.name for o in get_spec(t).options} for t in types}
    cfg = app.config
    existing = set(cfg.file_sections())
    imported_jotta: list[str] = []
    for plan in plan_import(sections, types, known):
        if plan.type is None:
            click.echo(f"{plan.name}: skipped ({plan.reason})")
            continue
        try:
            check_remote_name(plan.name)
        except CloudsyncError as err:
            click.echo(f"{plan.name}: skipped ({err})")
            continue
        if plan.name in existing and not overwrite:
            click.echo(f"{plan.name}: skipped (a cloudsync remote of that name exists; "
                       "--overwrite replaces it)")
            continue
        dropped = f" (rclone options without a cloudsync equivalent dropped: {', '.join(plan.dropped)})" \
            if plan.dropped else ""
        if not dry_run:
            spec = get_spec(plan.type)
            cfg.replace_section(plan.name, {"type": plan.type, **plan.values}, spec=spec)
        verb = "would import" if dry_run else "imported"
        click.echo(f"{plan.name}: {verb} as {plan.type}{dropped}")
        if plan.type == "jottacloud":
            imported_jotta.append(plan.name)
    if imported_jotta and not dry_run:
        click.echo(_SHARED_TOKEN_NOTICE.format(names=", ".join(imported_jotta),
                                               first=imported_jotta[0]), err=True)


@click.command("obscure", help="""Obscure a password for use in an rclone (or cloudsync) config file.

Obscuring only stops a value from being read at a glance: anyone can reveal it. Give - to
read the first line of standard input instead.

\b
Examples:
  cloudsync obscure hunter2
  echo "secretpassword" | cloudsync obscure -
""")
@click.argument("password")
@global_options
@pass_app
def obscure(app: App, password: str) -> None:
    from ..rclone_conf import obscure as do_obscure

    if password == "-":
        line = sys.stdin.readline()
        if line:
            password = line.rstrip("\r\n")
    click.echo(do_obscure(password))


@click.command("reveal", help="""Reveal a value obscured by rclone obscure (or cloudsync obscure).

\b
Examples:
  cloudsync reveal scSu6UkgcaNjM79UMiaX_ABKt_vRhVc
""")
@click.argument("obscured")
@global_options
@pass_app
def reveal(app: App, obscured: str) -> None:
    from ..rclone_conf import reveal as do_reveal

    try:
        click.echo(do_reveal(obscured))
    except ValueError as err:
        raise ConfigError(str(err)) from None
