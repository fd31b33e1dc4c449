"""Differential tests: cloudsync against the pinned official rclone binary (issue 2 item 9)."""
