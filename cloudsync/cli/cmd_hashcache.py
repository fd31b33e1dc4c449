"""``cloudsync hashcache stats|clear``: look at or empty the persistent hash cache."""

from __future__ import annotations

import json

import click

from .app import App, global_options, pass_app

__all__ = ["hashcache"]


@click.group("hashcache", help="Show or clear the persistent cache of local file hashes.")
def hashcache() -> None:
    pass


@hashcache.command("stats", help="Where the cache is, how many files it knows, hits and misses.")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON.")
@global_options
@pass_app
def stats(app: App, as_json: bool) -> None:
    from ..hashcache import HashCache

    cache = HashCache()
    info = cache.stats()
    cache.close()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Location:      {info['path']}")
    click.echo(f"Entries:       {info['entries']}")
    click.echo(f"Size on disk:  {info['bytes']} bytes")
    click.echo(f"Cache hits:    {info['hits']}")
    click.echo(f"Files hashed:  {info['hashed']}")
    if "error" in info:
        click.echo(f"Error:         {info['error']}")


@hashcache.command("clear", help="Forget every cached hash (files are hashed again when needed).")
@global_options
@pass_app
def clear(app: App) -> None:
    from ..hashcache import HashCache

    cache = HashCache()
    n = cache.clear()
    cache.close()
    click.echo(f"Removed {n} entries from {cache.path}")
