"""Offline, protocol-faithful JottaCloud server (``cloudsync serve jottacloud``)."""
