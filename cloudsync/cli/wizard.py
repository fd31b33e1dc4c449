"""The interactive ``cloudsync config`` session and the click implementation of
:class:`cloudsync.options.Prompter`.

Backends with their own flow (``BackendSpec.configure``) drive the questions themselves; the
others get one question per declared option (advanced ones behind a yes/no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError, UsageError

if TYPE_CHECKING:
    from ..config import Config
    from ..options import BackendSpec, Option, Prompter

__all__ = ["ClickPrompter", "NonInteractivePrompter", "generic_flow", "run_flow", "wizard"]


class ClickPrompter:
    """Prompter on the terminal (click prompts; secrets are not echoed)."""

    def echo(self, text: str) -> None:
        click.echo(text)

    def prompt(self, text: str, default: str | None = None, secret: bool = False) -> str:
        value = click.prompt(text, default=default if default is not None else "", hide_input=secret,
                             show_default=not secret and bool(default), type=str)
        return str(value)

    def confirm(self, text: str, default: bool = False) -> bool:
        return bool(click.confirm(text, default=default))

    def choose(self, text: str, choices: Sequence[tuple[str, str]], default: str | None = None) -> str:
        click.echo(text)
        for i, (value, help_text) in enumerate(choices, 1):
            click.echo(f"{i:>2} / {help_text}")
            click.echo(f"   \\ ({value})")
        values = [v for v, _ in choices]
        while True:
            answer = str(click.prompt("Choose a number or type a value", default=default or "",
                                      show_default=bool(default))).strip()
            if answer.isdigit() and 1 <= int(answer) <= len(choices):
                return values[int(answer) - 1]
            if answer in values:
                return answer
            click.echo(f"This value must be one of the choices ({', '.join(values)}).")


class NonInteractivePrompter:
    """For ``config create`` without a terminal: any question the flow must ask is an error."""

    def echo(self, text: str) -> None:
        click.echo(text, err=True)

    def _fail(self, text: str) -> str:
        raise UsageError(
            f"the configuration needs an answer to {text.strip()!r}",
            hint="pass it as key=value to config create, or run `cloudsync config` in a terminal",
        )

    def prompt(self, text: str, default: str | None = None, secret: bool = False) -> str:
        return self._fail(text)

    def confirm(self, text: str, default: bool = False) -> bool:
        return default

    def choose(self, text: str, choices: Sequence[tuple[str, str]], default: str | None = None) -> str:
        if default is not None:
            return default
        return self._fail(text)


def _ask(prompter: Prompter, opt: Option, current: str | None) -> str | None:
    """One generic question; None means "leave unset / use the default"."""
    default = current if current is not None else (None if opt.default is None else str(opt.default))
    prompter.echo(f"Option {opt.name}.\n{opt.help}")
    if opt.kind == "bool":
        value = prompter.confirm(f"{opt.name}", default=bool(opt.default) if current is None
                                 else current.lower() in ("1", "true", "yes"))
        text = "true" if value else "false"
        return None if current is None and value == bool(opt.default) else text
    if opt.examples:
        choices = list(opt.examples)
        answer = prompter.choose(f"Choose a value for {opt.name}", choices, default)
    else:
        answer = prompter.prompt(f"{opt.name}", default=None if opt.secret else default, secret=opt.secret)
    if answer == "" or (answer == default and current is None):
        if opt.required and not answer and default is None:
            raise UsageError(f"option {opt.name} is required")
        return None if current is None else current
    try:
        opt.parse(answer)
    except ValueError as exc:
        raise UsageError(f"bad value for {opt.name}: {exc}") from None
    return answer


def generic_flow(prompter: Prompter, spec: BackendSpec, current: Mapping[str, str]) -> dict[str, str]:
    values = {k: v for k, v in current.items() if k != "type"}
    for opt in spec.iter_options(advanced=False):
        if opt.hidden:
            continue
        answer = _ask(prompter, opt, values.get(opt.name))
        if answer is not None:
            values[opt.name] = answer
    advanced = [o for o in spec.iter_options(advanced=True) if not o.hidden]
    if advanced and prompter.confirm("Edit advanced config?", default=False):
        for opt in advanced:
            answer = _ask(prompter, opt, values.get(opt.name))
            if answer is not None:
                values[opt.name] = answer
    return values


def run_flow(prompter: Prompter, spec: BackendSpec, current: Mapping[str, str]) -> dict[str, str]:
    """The backend's own configure flow if it has one, else the generic questions."""
    if spec.configure is not None:
        # Keep the user's plain settings, but never persist one-shot secrets given as answers
        # (a single-use login token, a legacy password) unless the flow returns them itself.
        result = {}
        for key, value in current.items():
            try:
                secret = spec.option(key).secret
            except KeyError:
                secret = False
            if not secret:
                result[key] = value
        result.update(spec.configure(prompter, dict(current)))
        result.pop("type", None)
        return result
    return generic_flow(prompter, spec, current)


def _remote_table(config: Config) -> None:
    remotes = config.remotes()
    click.echo("Current remotes:\n")
    click.echo(f"{'Name':<20} {'Type'}")
    click.echo(f"{'====':<20} {'===='}")
    for info in remotes:
        click.echo(f"{info.name:<20} {info.type}")
    click.echo("")


def _new_remote(config: Config, prompter: ClickPrompter) -> None:
    from ..registry import backend_types, get_spec
    from ..remote import check_remote_name

    while True:
        name = prompter.prompt("Enter name for new remote.\nname").strip()
        try:
            check_remote_name(name)
        except UsageError as exc:
            click.echo(str(exc))
            continue
        if config.has_remote(name):
            click.echo(f"Remote {name!r} already exists.")
            continue
        break
    choices = []
    for type_name in backend_types():
        try:
            choices.append((type_name, get_spec(type_name).description))
        except ConfigError as exc:  # a broken plugin is shown, not fatal
            choices.append((type_name, f"(unavailable: {exc})"))
    type_name = prompter.choose("Option Storage.\nType of storage to configure.", choices)
    spec = get_spec(type_name)
    values = run_flow(prompter, spec, {})
    _save(config, name, spec, values, prompter)


def _save(config: Config, name: str, spec: BackendSpec, values: Mapping[str, str], prompter: ClickPrompter) -> None:
    shown = {"type": spec.name, **values}
    secret = {o.name for o in spec.options if o.secret}
    click.echo("Configuration complete.\nOptions:")
    for key, value in shown.items():
        click.echo(f"- {key}: {'XXX' if key in secret and value else value}")
    if prompter.confirm(f'Keep this "{name}" remote?', default=True):
        config.replace_section(name, shown, spec=spec)


def _edit_remote(config: Config, prompter: ClickPrompter) -> None:
    from ..registry import get_spec

    names = [r.name for r in config.remotes() if r.source == "file"]
    if not names:
        click.echo("No remotes to edit.")
        return
    name = prompter.choose("Choose a remote to edit.", [(n, n) for n in names])
    current = config.layers(name)
    assert current is not None
    stored = current[0]
    spec = get_spec(stored.get("type", ""))
    values = run_flow(prompter, spec, {k: v for k, v in stored.items() if k != "type"})
    _save(config, name, spec, values, prompter)


def _delete_remote(config: Config, prompter: ClickPrompter) -> None:
    names = [r.name for r in config.remotes() if r.source == "file"]
    if not names:
        click.echo("No remotes to delete.")
        return
    name = prompter.choose("Choose a remote to delete.", [(n, n) for n in names])
    config.delete_remote(name)


def wizard(config: Config) -> None:
    """The interactive menu: e) edit, n) new, d) delete, q) quit."""
    prompter = ClickPrompter()
    while True:
        if config.remotes():
            _remote_table(config)
            menu = [("e", "Edit existing remote"), ("n", "New remote"), ("d", "Delete remote"),
                    ("q", "Quit config")]
        else:
            click.echo("No remotes found, make a new one?")
            menu = [("n", "New remote"), ("q", "Quit config")]
        for key, text in menu:
            click.echo(f"{key}) {text}")
        keys = [k for k, _ in menu]
        answer = str(click.prompt("/".join(keys), prompt_suffix="> ")).strip().lower()
        if answer not in keys:
            continue
        if answer == "q":
            return
        if answer == "n":
            _new_remote(config, prompter)
        elif answer == "e":
            _edit_remote(config, prompter)
        elif answer == "d":
            _delete_remote(config, prompter)
