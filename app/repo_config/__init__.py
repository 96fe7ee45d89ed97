"""`.shipyard.yml`: the sections features register, parsing with a line for every problem,
and the cache of configs read from the default branch."""

from app.repo_config.cache import ConfigCache
from app.repo_config.errors import ConfigError, ConfigProblem
from app.repo_config.schema import CONFIG_PATH, RepoConfig, RepoConfigSchema, Section

__all__ = [
    "CONFIG_PATH",
    "ConfigCache",
    "ConfigError",
    "ConfigProblem",
    "RepoConfig",
    "RepoConfigSchema",
    "Section",
]
