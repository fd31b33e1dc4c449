"""``cloudsync help backends`` / ``cloudsync help backend NAME`` (rclone's names)."""

from __future__ import annotations

import click

from ..docs import render_all_backends, render_backend
from ..registry import backend_types, get_spec


@click.group("help", help="Show help for backends (rclone's `help backends`, `help backend NAME`).")
def help_group() -> None:
    pass


@help_group.command("backends", help="List the backends, or with --markdown print every backend's options.")
@click.option("--markdown", is_flag=True, help="Print the full option reference as Markdown.")
def backends(markdown: bool) -> None:
    if markdown:
        click.echo(render_all_backends(), nl=False)
        return
    for name in backend_types():
        click.echo(f"  {name:<12} {get_spec(name).description}")


@help_group.command("flags", help="List the global, transfer, filter and check flags with their defaults.")
@click.option("--markdown", is_flag=True, help="Print them as Markdown (docs/flags.md).")
def flags(markdown: bool) -> None:
    from .params import render_flags

    text = render_flags()
    if not markdown:
        text = text.replace("`", "")
    click.echo(text, nl=False)


@help_group.command("backend", help="Show the options of backend NAME: config keys, flags, env vars.")
@click.argument("name")
def backend(name: str) -> None:
    click.echo(render_backend(get_spec(name)))
