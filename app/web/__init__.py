"""Shipyard's own pages, rendered on the server: one module per page family, and templates."""
