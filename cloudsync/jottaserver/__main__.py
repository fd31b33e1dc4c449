"""``python -m cloudsync.jottaserver`` = ``cloudsync serve jottacloud``."""

from .cli import jottacloud

if __name__ == "__main__":
    jottacloud(prog_name="python -m cloudsync.jottaserver")
