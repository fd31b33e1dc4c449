"""fsspec filesystems over cloudsync remotes: ``cloudsync://REMOTE/path``, ``jottacloud://REMOTE/path``.

Installed with the ``fsspec`` extra (``pip install 'cloudsync[fsspec]'``) and registered through
the ``fsspec.specs`` entry-point group, so pandas, pyarrow, Dask, xarray … open these URLs
directly::

    import pandas as pd
    df = pd.read_csv("cloudsync://jotta/data/x.csv")

    import fsspec
    fs = fsspec.filesystem("cloudsync", remote="jotta")
    fs.ls("data")

See :class:`CloudsyncFileSystem` and ``docs/library.md``.
"""

from __future__ import annotations

from .filesystem import CloudsyncFileSystem, JottacloudFileSystem

__all__ = ["CloudsyncFileSystem", "JottacloudFileSystem"]
