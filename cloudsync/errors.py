"""One error tree for the whole of cloudsync.

Every failure a backend, the engine or the CLI can report is an instance of
:class:`CloudsyncError`.  Leaves also derive from the matching builtin (``FileNotFoundError``,
``PermissionError`` …) so code written against plain Python file APIs – and fsspec, which
relies on them – behaves sensibly.

Three class attributes drive the engine and the command line:

* ``retryable`` – the operation may succeed if tried again (network trouble, 5xx, 429).
  Low-level retries and whole-command ``--retries`` look only at this.
* ``fatal`` – stop the whole run now (quota exhausted, credentials revoked, ``--max-delete``).
* ``exit_code`` – the rclone exit code this error maps to on its own (see :func:`exit_code_for`).

::

    CloudsyncError
    ├── UsageError                     bad flags/arguments                       exit 2
    ├── ConfigError                    unknown remote/backend, corrupt config    exit 1
    │   └── SecretStoreError           keyring missing or failing
    ├── NotFound (FileNotFoundError)
    │   ├── DirNotFound                                                          exit 3
    │   └── ObjectNotFound                                                       exit 4
    ├── IsDirError (IsADirectoryError)
    ├── IsFileError (NotADirectoryError)   a path that should be a dir is a file
    ├── AlreadyExists (FileExistsError)
    │   └── DirExists
    ├── DirectoryNotEmpty (OSError)
    ├── PermissionDenied (PermissionError)
    ├── AuthError (PermissionError)    credentials rejected / token family revoked   fatal
    ├── QuotaExceeded                  account full                                   fatal
    ├── NameNotSupported (ValueError)  destination cannot hold this name (length, characters)
    ├── HashUnsupported (ValueError)   hash type the backend cannot produce
    ├── Unsupported (NotImplementedError)  optional capability missing → engine falls back
    │   ├── CantCopy / CantMove / CantDirMove / CantPurge
    │   ├── CantSetModTime
    │   └── CantSetModTimeWithoutDelete
    ├── CorruptedTransfer              sizes/hashes differ after a transfer
    ├── TransientError                 timeouts, resets, 5xx, 429 (retry_after)     retryable, exit 5
    ├── ProtocolError                  the server answered something unparseable
    ├── NoRetryError                   a counted error retrying cannot fix          exit 6
    │   └── CantOpenRemote             rclone's "Failed to create file system"       exit 1
    │       ├── RootIsFile (NotADirectoryError)  a directory remote's root names a file
    │       └── RemoteUnreachable      the service never answered at all
    ├── FatalError                     stop everything now                          exit 7
    ├── TransferLimitExceeded          --max-transfer (--cutoff-mode hard)          exit 8
    └── DurationExceeded               --max-duration                               exit 10
    NoRetryError
    └── TransferLimitReached           --max-transfer (soft, cautious)              exit 8
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExists",
    "AuthError",
    "CantCopy",
    "CantDirMove",
    "CantMove",
    "CantOpenRemote",
    "CantPurge",
    "CantSetModTime",
    "CantSetModTimeWithoutDelete",
    "CloudsyncError",
    "ConfigError",
    "CorruptedTransfer",
    "DirExists",
    "DirNotFound",
    "DirectoryNotEmpty",
    "DurationExceeded",
    "ExitCode",
    "FatalError",
    "HashUnsupported",
    "IsDirError",
    "IsFileError",
    "NameNotSupported",
    "NoRetryError",
    "NotFound",
    "ObjectNotFound",
    "PartialListing",
    "PermissionDenied",
    "ProtocolError",
    "QuotaExceeded",
    "RemoteUnreachable",
    "RootIsFile",
    "SecretStoreError",
    "TransferLimitExceeded",
    "TransferLimitReached",
    "TransientError",
    "Unsupported",
    "UsageError",
    "exit_code_for",
]


class ExitCode:
    """rclone's exit codes (lib/exitcode)."""

    SUCCESS = 0
    UNCATEGORIZED = 1
    USAGE = 2
    DIR_NOT_FOUND = 3
    FILE_NOT_FOUND = 4
    RETRY = 5
    NO_RETRY = 6
    FATAL = 7
    TRANSFER_EXCEEDED = 8
    NO_FILES_TRANSFERRED = 9
    DURATION_EXCEEDED = 10


class CloudsyncError(Exception):
    """Root of every error cloudsync raises on purpose.

    ``path`` names the file or directory concerned (shown to the user), ``hint`` says what to
    do about it.  ``str(err)`` is the one line a user sees.
    """

    retryable: bool = False
    fatal: bool = False
    exit_code: int = ExitCode.UNCATEGORIZED

    def __init__(self, message: str = "", *, path: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __str__(self) -> str:
        text = self.message or self.__class__.__name__
        if self.path is not None and self.path not in text:
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class UsageError(CloudsyncError):
    exit_code = ExitCode.USAGE


class ConfigError(CloudsyncError):
    """Unknown remote or backend type, malformed remote string, unreadable config file."""


class SecretStoreError(ConfigError):
    """The system keyring is missing or refused to store/return a secret."""


class NotFound(CloudsyncError, FileNotFoundError):
    exit_code = ExitCode.FILE_NOT_FOUND


class DirNotFound(NotFound):
    exit_code = ExitCode.DIR_NOT_FOUND

    def __init__(self, message: str = "directory not found", **kw: str | None):
        super().__init__(message, **kw)


class ObjectNotFound(NotFound):
    exit_code = ExitCode.FILE_NOT_FOUND

    def __init__(self, message: str = "object not found", **kw: str | None):
        super().__init__(message, **kw)


class IsDirError(CloudsyncError, IsADirectoryError):
    def __init__(self, message: str = "is a directory not a file", **kw: str | None):
        super().__init__(message, **kw)


class IsFileError(CloudsyncError, NotADirectoryError):
    def __init__(self, message: str = "is a file not a directory", **kw: str | None):
        super().__init__(message, **kw)


class AlreadyExists(CloudsyncError, FileExistsError):
    def __init__(self, message: str = "already exists", **kw: str | None):
        super().__init__(message, **kw)


class DirExists(AlreadyExists):
    def __init__(self, message: str = "directory already exists", **kw: str | None):
        super().__init__(message, **kw)


class DirectoryNotEmpty(CloudsyncError, OSError):
    def __init__(self, message: str = "directory not empty", **kw: str | None):
        super().__init__(message, **kw)


class PermissionDenied(CloudsyncError, PermissionError):
    exit_code = ExitCode.NO_RETRY


class AuthError(CloudsyncError, PermissionError):
    """Credentials were refused, expired beyond refresh, or the token family was revoked."""

    fatal = True
    exit_code = ExitCode.FATAL


class QuotaExceeded(CloudsyncError):
    fatal = True
    exit_code = ExitCode.FATAL


class NameNotSupported(CloudsyncError, ValueError):
    """The destination cannot hold this name (too long, forbidden characters…)."""

    exit_code = ExitCode.NO_RETRY


class HashUnsupported(CloudsyncError, ValueError):
    exit_code = ExitCode.NO_RETRY


class Unsupported(CloudsyncError, NotImplementedError):
    """An optional capability is missing; the engine falls back to a generic way."""


class CantCopy(Unsupported):
    pass


class CantMove(Unsupported):
    pass


class CantDirMove(Unsupported):
    pass


class CantPurge(Unsupported):
    pass


class CantSetModTime(Unsupported):
    """The backend can only change a modtime by uploading the file again."""


class CantSetModTimeWithoutDelete(Unsupported):
    """The backend must delete the object before it can be re-uploaded with a new modtime."""


class CorruptedTransfer(CloudsyncError):
    """Size or hash of the written object disagrees with the source.

    Like any plain error it is retried by the command-level ``--retries`` loop (which retries
    everything that is neither fatal nor no-retry), but it does not mean "exit 5".
    """


class TransientError(CloudsyncError):
    """Network trouble, timeouts, 5xx and 429: trying again may help."""

    retryable = True
    exit_code = ExitCode.RETRY

    #: True once the layer that owns low-level retries (a backend's HTTP layer) has already
    #: spent ``--low-level-retries`` on this error: nobody retries it again per call, only the
    #: command-level ``--retries`` loop may run the whole operation again.
    low_level_retried: bool = False

    def __init__(self, message: str = "", *, retry_after: float | None = None,
                 low_level_retried: bool = False, **kw: str | None):
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.low_level_retried = low_level_retried


class ProtocolError(CloudsyncError):
    """The server answered something we cannot understand (HTML from a captive portal…)."""


class NoRetryError(CloudsyncError):
    exit_code = ExitCode.NO_RETRY


class PartialListing(NoRetryError):
    """A directory was listed, but some of its entries could not be read (a broken or looping
    symlink followed with ``-L``).  ``entries`` are the good ones; ``errors`` name each bad
    entry's path.  Listers report the errors and go on with the entries, as rclone does."""

    def __init__(self, entries: list[Any], errors: list[CloudsyncError], *, path: str | None = None):
        last = errors[-1] if errors else None
        super().__init__(str(last) if last is not None else "listing incomplete", path=path)
        self.entries = entries
        self.errors = errors


class CantOpenRemote(NoRetryError):
    """The remote cannot be used at all, found by its first request rather than by a probe.

    rclone finds these while opening the remote (its NewFs fails: "Failed to create file
    system", exit 1) and never starts the command.  So: exit 1, not 6; the engine ends the run
    on it; the command is not retried.
    """

    exit_code = ExitCode.UNCATEGORIZED


class RootIsFile(CantOpenRemote, NotADirectoryError):
    """The root of a remote used as a directory names a file.

    Not an :class:`IsFileError`: a destination root that cannot be listed as a directory must
    never read as "empty" to the march.
    """

    def __init__(self, message: str = "is a file not a directory", **kw: str | None):
        super().__init__(message, **kw)


class RemoteUnreachable(CantOpenRemote):
    """Not one request to the service was answered (refused, timed out, reset), even after
    the low-level retries: rclone's JottaCloud fails the same way while opening the remote."""


class FatalError(CloudsyncError):
    fatal = True
    exit_code = ExitCode.FATAL


class TransferLimitExceeded(FatalError):
    exit_code = ExitCode.TRANSFER_EXCEEDED


class TransferLimitReached(NoRetryError):
    """--max-transfer reached in soft or cautious cutoff mode: no new transfer starts."""

    exit_code = ExitCode.TRANSFER_EXCEEDED


class DurationExceeded(FatalError):
    """--max-duration reached."""

    exit_code = ExitCode.DURATION_EXCEEDED


def exit_code_for(err: BaseException | None) -> int:
    """Map the final error of a command to rclone's exit code, checked in rclone's order.

    DirNotFound → 3, ObjectNotFound → 4, max-transfer → 8, retryable → 5, no-retry → 6,
    fatal → 7, usage → 2, anything else (a root that is a file included) → 1.
    """
    if err is None:
        return ExitCode.SUCCESS
    if isinstance(err, DirNotFound):
        return ExitCode.DIR_NOT_FOUND
    if isinstance(err, ObjectNotFound):
        return ExitCode.FILE_NOT_FOUND
    if isinstance(err, TransferLimitExceeded | TransferLimitReached | DurationExceeded):
        return err.exit_code
    if isinstance(err, CloudsyncError):
        if err.fatal:
            return ExitCode.FATAL
        if err.retryable:
            return ExitCode.RETRY
        return err.exit_code
    return ExitCode.UNCATEGORIZED
