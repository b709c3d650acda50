"""`kubectl prompt dashboard`: the web UI reviewers use to see, compare and approve releases."""
