"""The copy/sync/move/check engine: scan → plan → act."""
