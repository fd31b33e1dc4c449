"""Every command's ``--help`` shows its defaults and at least one example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cloudsync.cli import cli
from cloudsync.cli.app import COMMANDS


def _paths() -> list[list[str]]:
    out: list[list[str]] = []
    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        assert command is not None
        out.append([name])
        if isinstance(command, click.Group):
            out += [[name, sub] for sub in sorted(command.commands)]
    return out


@pytest.mark.parametrize("path", _paths(), ids=" ".join)
def test_help_has_an_example_and_shows_defaults(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Examples:\n  cloudsync " in text or "Examples:\n    cloudsync " in text \
        or "Examples:\n    echo" in text or "Examples:\n    tar" in text, \
        f"{' '.join(path)}: no example (add one in cloudsync/cli/examples.py)"
    ctx = click.Context(cli)
    command: click.Command | None = cli.get_command(ctx, path[0])
    for part in path[1:]:
        assert isinstance(command, click.Group)
        command = command.commands[part]
    assert command is not None
    valued = [p for p in command.params if isinstance(p, click.Option) and not p.is_flag
              and p.default not in (None, "", ()) and not p.hidden]
    if valued:
        assert "default" in text, f"{' '.join(path)}: no default shown"
