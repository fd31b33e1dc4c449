"""``cloudsync help backends`` / ``cloudsync help backend NAME`` (rclone's names)."""

from __future__ import annotations

import click

from ..docs import render_all_backends, render_backend, render_backend_text
from ..registry import backend_types, get_spec


@click.group("help", invoke_without_command=True, help="""Show help: with no argument the
overview of all commands (as `cloudsync --help`); `help backends` lists the backends, `help
backend NAME` shows one backend's options.

\b
Examples:
  cloudsync help
  cloudsync help backend jottacloud
""")
@click.pass_context
def help_group(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is None:
        # rclone's `rclone help`: the overview, exit 0
        root = ctx.find_root()
        click.echo(root.get_help())


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


@help_group.command("backend", help="""Show the options of backend NAME: config keys, flags, env vars.

\b
Examples:
  cloudsync help backend jottacloud
  cloudsync help backend local --markdown
""")
@click.option("--markdown", is_flag=True, help="Print the options as a Markdown table (as in docs/backends.md).")
@click.argument("name")
def backend(name: str, markdown: bool) -> None:
    spec = get_spec(name)
    click.echo(render_backend(spec) if markdown else render_backend_text(spec), nl=not markdown)
