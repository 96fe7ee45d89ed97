"""A repository URL as CI has it, mapped to the host Shipyard knows and the repository's name
there (pure): github.com and GitHub Enterprise Server, GitLab at a relative URL root, Gitea."""

from __future__ import annotations

import pytest

from app.api.v1.repositories import UnknownRepository, repository_of_url
from tests.support.settings import make_settings

SETTINGS = make_settings(
    "sqlite:///unused.db",
    GITHUB_API_URL="https://ghe.example.com/api/v3",
    GITLAB_URL="https://git.example.com/gitlab",
    GITEA_URL="https://gitea.example.com:3000",
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/web", ("github", "acme/web")),
        ("https://github.com/acme/web.git", ("github", "acme/web")),
        ("https://GitHub.com/acme/web/", ("github", "acme/web")),
        ("git@github.com:acme/web.git", ("github", "acme/web")),
        ("ssh://git@github.com/acme/web.git", ("github", "acme/web")),
        ("https://ghe.example.com/acme/web", ("github", "acme/web")),
        ("https://git.example.com/gitlab/group/sub/proj", ("gitlab", "group/sub/proj")),
        ("https://git.example.com:443/gitlab/group/proj.git", ("gitlab", "group/proj")),
        ("git@git.example.com:group/proj.git", ("gitlab", "group/proj")),
        ("https://gitea.example.com:3000/acme/web", ("gitea", "acme/web")),
    ],
)
def test_known_hosts(url: str, expected: tuple[str, str]) -> None:
    assert repository_of_url(SETTINGS, url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://gitlab.com/group/proj", "a host Shipyard does not know"),
        ("https://git.example.com/group/proj", "a host Shipyard does not know"),
        ("https://gitea.example.com/acme/web", "a host Shipyard does not know"),
        ("https://github.com/acme", "names no repository"),
        ("https://github.com/acme/web/tree/main", "names no repository"),
        ("https://git.example.com/gitlab/group/proj/-/tree/main", "names no repository"),
        ("acme/web", "is not a repository URL"),
        ("ftp://github.com/acme/web", "is not a repository URL"),
    ],
)
def test_what_is_refused(url: str, says: str) -> None:
    with pytest.raises(UnknownRepository, match=says):
        repository_of_url(SETTINGS, url)
