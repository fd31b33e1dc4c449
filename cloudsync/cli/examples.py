"""One or more examples for every command's ``--help`` (rclone's help has them too).

Kept apart from the commands so ``cloudsync --help`` imports nothing; attached to a command
when it is loaded (see :class:`cloudsync.cli.app.LazyGroup`).
"""

from __future__ import annotations

import click

__all__ = ["EXAMPLES", "attach_examples"]

EXAMPLES: dict[str, tuple[str, ...]] = {
    "about": ("cloudsync about jotta:", "cloudsync about jotta: --json"),
    "backend": ("cloudsync backend features jotta:",),
    "backend features": ("cloudsync backend features jotta:",),
    "cat": ("cloudsync cat jotta:notes/todo.txt", "cloudsync cat --head 100 jotta:logs/app.log"),
    "check": ("cloudsync check ~/Pictures jotta:backup/Pictures",
              "cloudsync check --one-way --combined - src/ jotta:dst"),
    "checksum": ("cloudsync checksum md5 photos.md5 jotta:backup/Pictures",
                 "cloudsync checksum sha1 --download --combined - SHA1SUMS ./photos"),
    "cleanup": ("cloudsync cleanup jotta:",),
    "completion": ("cloudsync completion bash > /etc/bash_completion.d/cloudsync",),
    "config": ("cloudsync config", "cloudsync config create jotta jottacloud login_token=…"),
    "config create": ("cloudsync config create jotta jottacloud login_token=…",
                      "cloudsync config create scratch memory"),
    "config delete": ("cloudsync config delete jotta",),
    "config disconnect": ("cloudsync config disconnect jotta:",),
    "config dump": ("cloudsync config dump",),
    "config edit": ("cloudsync config edit",),
    "config file": ("cloudsync config file",),
    "config password": ("cloudsync config password jotta login_token …",),
    "config paths": ("cloudsync config paths",),
    "config providers": ("cloudsync config providers",),
    "config reconnect": ("cloudsync config reconnect jotta:",),
    "config redacted": ("cloudsync config redacted jotta",),
    "config show": ("cloudsync config show jotta",),
    "config string": ("cloudsync config string jotta:backup",),
    "config touch": ("cloudsync config touch",),
    "config unset": ("cloudsync config unset jotta mountpoint",),
    "config update": ("cloudsync config update jotta mountpoint=Sync",),
    "config userinfo": ("cloudsync config userinfo jotta:", "cloudsync config userinfo --json jotta:"),
    "copy": ("cloudsync copy ~/Pictures jotta:backup/Pictures -P",
             "cloudsync copy --max-age 24h /var/log jotta:logs"),
    "copyto": ("cloudsync copyto report.pdf jotta:docs/2024-report.pdf",),
    "delete": ("cloudsync delete --min-age 30d jotta:tmp", "cloudsync delete --rmdirs jotta:old"),
    "deletefile": ("cloudsync deletefile jotta:docs/old.pdf",),
    "hashsum": ("cloudsync hashsum md5 jotta:backup", "cloudsync hashsum sha1 --download ./photos"),
    "hashcache": ("cloudsync hashcache stats", "cloudsync hashcache clear"),
    "hashcache clear": ("cloudsync hashcache clear",),
    "hashcache stats": ("cloudsync hashcache stats",),
    "help": ("cloudsync help", "cloudsync help backend jottacloud"),
    "help backend": ("cloudsync help backend jottacloud",),
    "help backends": ("cloudsync help backends",),
    "help flags": ("cloudsync help flags", "cloudsync help flags --markdown > docs/flags.md"),
    "link": ("cloudsync link jotta:backup/Pictures/cat.jpg",),
    "listremotes": ("cloudsync listremotes --long",),
    "ls": ("cloudsync ls jotta:backup", "cloudsync ls --max-depth 1 ./photos"),
    "lsd": ("cloudsync lsd jotta:", "cloudsync lsd -R jotta:backup"),
    "lsf": ("cloudsync lsf -R jotta:backup", "cloudsync lsf --format tsp --separator ';' ./docs"),
    "lsjson": ("cloudsync lsjson -R jotta:backup", "cloudsync lsjson --hash --files-only ./docs"),
    "lsl": ("cloudsync lsl jotta:backup",),
    "md5sum": ("cloudsync md5sum jotta:backup",),
    "mkdir": ("cloudsync mkdir jotta:backup/2024",),
    "move": ("cloudsync move ~/Inbox jotta:archive/inbox --delete-empty-src-dirs",),
    "moveto": ("cloudsync moveto jotta:docs/draft.txt jotta:docs/final.txt",),
    "obscure": ("cloudsync obscure hunter2", "echo secret | cloudsync obscure -"),
    "purge": ("cloudsync purge jotta:old-backup",),
    "rcat": ("tar c ~/docs | cloudsync rcat jotta:backup/docs.tar",),
    "reveal": ("cloudsync reveal <obscured value>",),
    "restore": ("cloudsync restore jotta:docs/report.pdf --version 3",
                "cloudsync restore jotta:photos --at 3d --to jotta:photos-3-days-ago"),
    "rmdir": ("cloudsync rmdir jotta:empty-folder",),
    "rmdirs": ("cloudsync rmdirs jotta:backup --leave-root",),
    "serve": ("cloudsync serve jottacloud --data /tmp/jfs --addr 127.0.0.1:8090",),
    "serve jottacloud": ("cloudsync serve jottacloud --data /tmp/jfs --addr 127.0.0.1:8090",),
    "sha1sum": ("cloudsync sha1sum jotta:backup",),
    "size": ("cloudsync size jotta:backup", "cloudsync size --json ./photos"),
    "sync": ("cloudsync sync ~/Pictures jotta:backup/Pictures -P",
             "cloudsync sync --dry-run ./site jotta:www"),
    "trash": ("cloudsync trash ls jotta:", "cloudsync trash restore jotta:docs/report.pdf"),
    "trash empty": ("cloudsync trash empty jotta:",),
    "trash ls": ("cloudsync trash ls jotta:docs",),
    "trash restore": ("cloudsync trash restore jotta:docs/report.pdf",),
    "trash rm": ("cloudsync trash rm jotta:docs/old.pdf",),
    "touch": ("cloudsync touch jotta:notes/today.txt",
              "cloudsync touch -R -t 2024-01-01T00:00:00 ./photos"),
    "tree": ("cloudsync tree jotta:backup --max-depth 2",),
    "versions": ("cloudsync versions jotta:docs/report.pdf",
                 "cloudsync versions --json jotta:docs/report.pdf"),
    "version": ("cloudsync version",),
}


_PLACEHOLDERS = {"REMOTE": "remote:path", "SOURCE": "/path/to/source", "SRC": "/path/to/source",
                 "DEST": "remote:backup", "DST": "remote:backup", "NAME": "myremote"}


def _generated(command: click.Command, path: str) -> tuple[str, ...]:
    """A command nobody wrote examples for still gets one: its arguments filled in."""
    args = [p for p in command.params if isinstance(p, click.Argument)]
    words = [_PLACEHOLDERS.get((a.human_readable_name or "").upper(),
                               (a.human_readable_name or "ARG").upper()) for a in args]
    return (" ".join(["cloudsync", path, *words]),)


def attach_examples(command: click.Command, path: str) -> None:
    """Give ``command`` (and the sub-commands of a group) an Examples epilog."""
    examples = EXAMPLES.get(path) or _generated(command, path)
    if examples and not command.epilog and "Examples:" not in (command.help or ""):
        command.epilog = "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            attach_examples(sub, f"{path} {name}")
