"""Executors: the I/O of each deploy target type, one module each; `registry` maps a
type to its executor."""
