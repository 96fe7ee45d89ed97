"""Repository pipelines: the .shipyard.yml schema and which pipelines an event starts."""
