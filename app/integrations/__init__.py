"""The integration hub: the connections to the outside world (registries, CI systems,
notification services, secret stores, metrics), each registered with a provider, a config and a
credential reference, tested, asked to discover what it reaches, and called through a breaker."""
