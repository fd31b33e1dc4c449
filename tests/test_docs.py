"""The backend docs come from the declared option metadata and must not drift from it."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from click.testing import CliRunner

from cloudsync.cli.app import cli
from cloudsync.docs import render_all_backends
from cloudsync.registry import ENTRY_POINT_GROUP, get_spec

DOCS = Path(__file__).resolve().parents[1] / "docs" / "backends.md"


def _installed() -> list[str]:
    # Only what is installed through entry points: other tests register throw-away backends
    # in-process (same xdist worker), and those do not belong in the docs.
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def test_docs_backends_md_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_all_backends(_installed()), (
        "docs/backends.md is stale: run `cloudsync help backends --markdown > docs/backends.md`"
    )


def test_help_backend_lists_every_visible_option_with_flag_and_env() -> None:
    runner = CliRunner()
    for name in _installed():
        spec = get_spec(name)
        result = runner.invoke(cli, ["help", "backend", name])
        assert result.exit_code == 0, result.output
        for opt in spec.options:
            if opt.hidden:
                assert f"`{opt.name}`" not in result.output
                continue
            assert f"`{opt.flag_name(name)}`" in result.output
            assert f"`{opt.env_name(name)}`" in result.output


def test_secret_options_are_never_documented_with_their_values() -> None:
    text = render_all_backends(_installed())
    # Tokens and passwords are hidden internal state: not offered as documented options.
    for key in ("`token`", "`password`", "`login_token`", "`client_secret`"):
        assert key not in text


def test_size_defaults_use_binary_suffixes() -> None:
    assert "`10Mi`" in render_all_backends(_installed())


def test_help_backend_unknown_is_one_line_exit_1() -> None:
    result = CliRunner().invoke(cli, ["help", "backend", "nope"])
    assert result.exit_code == 1
    assert 'didn\'t find backend called "nope"' in result.stderr
    assert "Traceback" not in result.output + result.stderr
