"""Container registries as integrations: one module per provider."""
