"""Engine and filter flags given to a command that does not use them are accepted (as rclone
accepts every global flag on every command) and named at -vv; a command's own flags, also
those of a group's subcommand, are never taken away."""

from __future__ import annotations

from cloudsync.cli.app import drop_foreign_flags, engine_flag_arity


def _known(*names: str):  # type: ignore[no-untyped-def]
    return lambda opt: opt in names


def test_flags_and_their_values_are_taken_out() -> None:
    args = ["ls", "src", "--transfers", "4", "--fast-list", "-n", "--bwlimit=1M", "--", "--transfers"]
    out, dropped = drop_foreign_flags(args, _known())
    assert out == ["ls", "src", "--", "--transfers"]
    assert dropped == ["--transfers", "--fast-list", "-n", "--bwlimit"]


def test_known_and_unknown_flags_stay_for_click() -> None:
    args = ["lsf", "--transfers", "4", "--no-such", "-vv", "--offset", "-5"]
    out, dropped = drop_foreign_flags(args, _known("--transfers"))
    assert out == args and dropped == []


def test_table_covers_switches_shorts_and_value_flags() -> None:
    table = engine_flag_arity()
    assert table["--delete-after"] is False and table["--fast-list"] is False
    assert table["-n"] is False and table["--transfers"] is True and table["--include"] is True


def test_vv_names_the_ignored_flags(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from cloudsync.cli import cli

    monkeypatch.setenv("CLOUDSYNC_CONFIG", str(tmp_path / "c.conf"))
    (tmp_path / "d").mkdir()
    r = CliRunner().invoke(cli, ["ls", str(tmp_path / "d"), "--transfers", "3", "-vv"])
    assert r.exit_code == 0, r.output
    assert "--transfers not used by this command" in r.stderr
