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
        result = runner.invoke(cli, ["help", "backend", name, "--markdown"])
        assert result.exit_code == 0, result.output
        text = runner.invoke(cli, ["help", "backend", name]).output
        for opt in spec.options:
            if opt.hidden:
                assert f"`{opt.name}`" not in result.output
                assert f"Config:   {opt.name}\n" not in text
                continue
            assert f"`{opt.flag_name(name)}`" in result.output
            assert f"`{opt.env_name(name)}`" in result.output
            assert f"  {opt.flag_name(name)}\n" in text
            assert f"Env Var:  {opt.env_name(name)}\n" in text
        # the terminal form fits an 80-column terminal
        assert max(len(line) for line in text.splitlines()) <= 80


def test_help_without_argument_prints_the_overview() -> None:
    result = CliRunner().invoke(cli, ["help"])
    assert result.exit_code == 0
    assert result.output == CliRunner().invoke(cli, ["--help"]).output
    assert "copy" in result.output and "Commands:" in result.output


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


FLAGS = Path(__file__).resolve().parents[1] / "docs" / "flags.md"


def test_docs_flags_md_is_up_to_date() -> None:
    from cloudsync.cli.params import render_flags

    assert FLAGS.read_text(encoding="utf-8") == render_flags(), (
        "docs/flags.md is stale: run `cloudsync help flags --markdown > docs/flags.md`"
    )


def test_every_declared_flag_is_a_click_option_with_env_and_documented() -> None:
    """One declaration gives the click option, its CLOUDSYNC_<FLAG> variable and its docs row."""
    from cloudsync.cli.app import Settings
    from cloudsync.engine.options import CheckOptions, SyncOptions
    from cloudsync.filters import FilterOptions
    from cloudsync.options import flag_options

    text = FLAGS.read_text(encoding="utf-8")
    runner = CliRunner()
    help_out = {cmd: runner.invoke(cli, [cmd, "--help"]).output for cmd in ("move", "check")}
    for cls, cmd in ((Settings, "move"), (SyncOptions, "move"), (FilterOptions, "check"),
                     (CheckOptions, "check")):
        for _, opt in flag_options(cls):
            names = [n for n, _, _ in opt.switches] or [opt.flag_name()]
            for name in names:
                assert f"`{name}`" in text, name
                if not opt.commands or cmd in opt.commands:  # (--watch: copy and sync only)
                    assert name in help_out[cmd], (cmd, name)
                assert f"`CLOUDSYNC_{name[2:].upper().replace('-', '_')}`" in text, name


def test_help_shows_defaults_the_rclone_way() -> None:
    out = CliRunner().invoke(cli, ["copy", "--help"], terminal_width=200).output
    assert "Number of file transfers to run in parallel (default 4)" in out
    assert "(default 1ns)" in out


def test_flag_env_var_sets_the_engine_option(tmp_path: Path) -> None:
    """CLOUDSYNC_<FLAG> drives a generated option exactly as the flag does (rclone's RCLONE_<FLAG>)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "b.log").write_text("b")
    env = {"CLOUDSYNC_CONFIG": str(tmp_path / "c.conf"), "CLOUDSYNC_EXCLUDE": "*.log",
           "CLOUDSYNC_DRY_RUN": "false", "CLOUDSYNC_TRANSFERS": "2"}
    result = CliRunner().invoke(cli, ["copy", str(src), str(tmp_path / "dst")], env=env)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["a.txt"]
    bad = CliRunner().invoke(cli, ["copy", str(src), str(tmp_path / "dst")],
                             env={**env, "CLOUDSYNC_TRANSFERS": "0"})
    assert bad.exit_code == 2
    assert "--transfers" in bad.output + bad.stderr
