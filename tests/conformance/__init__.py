"""Backend conformance suite (rclone-semantics.md §E.6), parametrised over every backend."""
