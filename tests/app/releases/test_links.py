"""Links to a release's source on its host: each host's own paths, from the host settings."""

from __future__ import annotations

import pytest

from app.releases.links import host_links, web_link
from tests.support.settings import make_settings

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("provider", "overrides", "commit", "tag"),
    [
        ("github", {}, f"https://github.com/acme/web/commit/{SHA}",
         "https://github.com/acme/web/tree/v1.0"),
        ("github", {"GITHUB_API_URL": "https://ghe.example/api/v3"},
         f"https://ghe.example/acme/web/commit/{SHA}", "https://ghe.example/acme/web/tree/v1.0"),
        ("gitlab", {"GITLAB_URL": "https://gitlab.example/"},
         f"https://gitlab.example/acme/web/-/commit/{SHA}",
         "https://gitlab.example/acme/web/-/tags/v1.0"),
        ("gitea", {"GITEA_URL": "https://gitea.example"},
         f"https://gitea.example/acme/web/commit/{SHA}",
         "https://gitea.example/acme/web/src/tag/v1.0"),
        ("forgejo", {"GITEA_URL": "https://code.example"},
         f"https://code.example/acme/web/commit/{SHA}",
         "https://code.example/acme/web/src/tag/v1.0"),
    ],
)  # fmt: skip
def test_each_host_has_its_own_paths(
    provider: str, overrides: dict[str, str], commit: str, tag: str
) -> None:
    links = host_links(make_settings("sqlite://", **overrides), provider, "acme/web")
    assert links.commit(SHA) == commit
    assert links.tag("v1.0") == tag


def test_without_a_web_root_nothing_is_linked() -> None:
    links = host_links(make_settings("sqlite://"), "gitea", "acme/web")  # no GITEA_URL
    assert links.repository is None
    assert (links.commit(SHA), links.tag("v1")) == (None, None)
    assert host_links(make_settings("sqlite://"), "bitbucket", "a/b").repository is None


def test_only_shas_and_quoted_tags_make_links() -> None:
    links = host_links(make_settings("sqlite://"), "github", "acme/web")
    assert links.commit("main") is None
    assert links.commit("javascript:alert(1)") is None
    assert links.tag('v1"?x=<y>#z') == "https://github.com/acme/web/tree/v1%22%3Fx%3D%3Cy%3E%23z"


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://ci.example.com/b/1", "https://ci.example.com/b/1"),
        ("http://ci.example.com", "http://ci.example.com"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("//evil.example", None),
        ("https:///nohost", None),
        (None, None),
    ],
)
def test_only_http_urls_become_links(url: str | None, link: str | None) -> None:
    assert web_link(url) == link
