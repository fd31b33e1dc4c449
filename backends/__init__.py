"""Backends shipped with cloudsync, installed as ``cloudsync.backends``."""
