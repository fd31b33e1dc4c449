"""JottaCloud backend."""
