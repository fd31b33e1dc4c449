"""Backend documentation rendered from the declared :class:`~cloudsync.options.Option` metadata.

The same records that drive the wizard, the ``--<backend>-<option>`` flags and the environment
variables produce ``cloudsync help backend NAME`` and ``docs/backends.md``; nothing is written
twice, so the docs cannot drift from the code (a test regenerates the file and compares).
"""

from __future__ import annotations

from collections.abc import Iterable

from .options import BackendSpec
from .registry import backend_types, get_spec

__all__ = ["render_all_backends", "render_backend", "render_backend_text"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_backend(spec: BackendSpec) -> str:
    """Markdown reference of one backend: its options with config key, flag and env variable.

    Hidden options (internal state such as OAuth tokens) are left out; secret options are
    marked, since they go to the system keyring when one exists.
    """
    lines = [f"## {spec.name}", "", _cell(spec.description), ""]
    shown = [opt for opt in spec.options if not opt.hidden]
    if not shown:
        lines += ["This backend has no options.", ""]
        return "\n".join(lines)
    for title, advanced in (("Standard options", False), ("Advanced options", True)):
        group = [opt for opt in shown if opt.advanced == advanced]
        if not group:
            continue
        lines += [f"### {title}", "", "| config key | flag | environment | default | meaning |",
                  "|---|---|---|---|---|"]
        for opt in group:
            meaning = _cell(opt.help)
            if opt.secret:
                meaning += " (secret: kept in the system keyring when one exists)"
            if opt.examples:
                meaning += " Choices: " + ", ".join(f"`{value}`" for value, _ in opt.examples) + "."
            lines.append(
                f"| `{opt.name}` | `{opt.flag_name(spec.name)}` | `{opt.env_name(spec.name)}` "
                f"| `{opt.default_display()}` | {meaning} |"
            )
        lines.append("")
    lines += [
        f"Any option can also be set for one remote with "
        f"`CLOUDSYNC_CONFIG_<REMOTE>_<KEY>` or in a connection string "
        f"(`:{spec.name},key=value:path`).",
        "",
    ]
    return "\n".join(lines)


def render_backend_text(spec: BackendSpec, width: int = 80) -> str:
    """``cloudsync help backend NAME`` on a terminal: rclone's per-option layout, every line
    within ``width`` columns (the Markdown table is for ``--markdown`` and the docs)."""
    import textwrap

    def wrap(text: str, indent: str, *, squeeze: bool = True) -> list[str]:
        text = " ".join(text.split()) if squeeze else text
        return textwrap.wrap(text, width=width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False) or [indent.rstrip()]

    lines = [*wrap(f"{spec.name}: {spec.description}", ""), ""]
    shown = [opt for opt in spec.options if not opt.hidden]
    if not shown:
        return "\n".join([*lines, "This backend has no options.", ""])
    for title, advanced in (("Standard options", False), ("Advanced options", True)):
        group = [opt for opt in shown if opt.advanced == advanced]
        if not group:
            continue
        lines += [title, "=" * len(title), ""]
        for opt in group:
            lines.append(f"  {opt.flag_name(spec.name)}")
            help_text = opt.help
            if opt.secret:
                help_text += " (secret: kept in the system keyring when one exists)"
            lines += wrap(help_text, "      ")
            lines += [f"      Config:   {opt.name}", f"      Env Var:  {opt.env_name(spec.name)}",
                      f"      Type:     {opt.kind}", *wrap(f"Default:  {opt.default_display()}", "      ", squeeze=False)]
            if opt.examples:
                lines += wrap("Choices:  " + ", ".join(v for v, _ in opt.examples), "      ",
                              squeeze=False)
            lines.append("")
    lines += wrap(f"Any option can also be set for one remote with CLOUDSYNC_CONFIG_<REMOTE>_<KEY> "
                  f"or in a connection string (:{spec.name},key=value:path).", "")
    lines.append("")
    return "\n".join(lines)


def render_all_backends(names: Iterable[str] | None = None) -> str:
    """``docs/backends.md``: every registered backend (or those in ``names``), in name order."""
    parts = [
        "# Backend options",
        "",
        "Generated from each backend's declared options by `cloudsync help backend NAME`",
        "(regenerate this file with `cloudsync help backends --markdown > docs/backends.md`).",
        "Lookup order for a value: connection-string parameter, `--<backend>-<option>` flag,",
        "`CLOUDSYNC_CONFIG_<REMOTE>_<OPTION>`, `CLOUDSYNC_<BACKEND>_<OPTION>`, the config file,",
        "the default.",
        "",
    ]
    for name in sorted(backend_types() if names is None else names):
        parts.append(render_backend(get_spec(name)))
    return "\n".join(parts).rstrip("\n") + "\n"
