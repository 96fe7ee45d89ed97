"""Pipeline steps: one module per `type:`, a registry, the step context and template rendering."""
