"""Who may act, and on what: roles on a repository, their cached lookup through the host, the
repository allowlist, and whether an event's code is trusted."""
