"""Releases: an immutable, named set of component digests and the source it came from, made
by the events a team already produces (a tag push, a host release, a registry push, a CI run),
by CI through the REST API, or by hand. `sources` plans (pure), `store` keeps them (once per
name), `service` creates and finishes them, `routing` hears the events."""
