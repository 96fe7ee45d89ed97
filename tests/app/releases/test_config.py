"""The `components:` and `releases:` sections: what parses, and each problem with its line."""

from __future__ import annotations

import pytest

from app.features import parse_config
from app.releases.config import components_of, releases_of
from app.repo_config.errors import ConfigError

FULL = """
components:
  web:    {image: registry.example.com/acme/web, tag: "{{ sha }}"}
  worker: {image: registry.example.com/acme/worker}
releases:
  name: "{{ repo.name }}-{{ tag }}"
  from:
    - tag: ["v*"]
    - release: [published]
    - registry: {component: web, tags: ["v*"]}
    - ci: {status: [success], branches: [main]}
"""


def test_the_issue_example_parses() -> None:
    config = parse_config(FULL)
    components = components_of(config)
    assert {name: (c.image, c.tag) for name, c in components.items()} == {
        "web": ("registry.example.com/acme/web", "{{ sha }}"),
        "worker": ("registry.example.com/acme/worker", "{{ sha }}"),
    }
    releases = releases_of(config)
    assert releases.name == "{{ repo.name }}-{{ tag }}"
    tag, release, registry, ci = releases.from_
    assert tag.tag is not None
    assert tag.tag.tags == ("v*",)
    assert release.release is not None
    assert release.release.actions == ("published",)
    assert registry.registry is not None
    assert registry.registry.component == "web"
    assert ci.ci is not None
    assert ci.ci.status == ("success",)
    assert ci.ci.branches == ("main",)


def test_a_bare_rule_means_any() -> None:
    releases = releases_of(parse_config("releases:\n  from:\n    - tag:\n    - release:\n"))
    tag, release = releases.from_
    assert tag.tag is not None
    assert tag.tag.tags is None
    assert release.release is not None
    assert release.release.actions == ("published",)


def test_releases_alone_declare_something_and_components_alone_do_not() -> None:
    assert releases_of(parse_config("releases: {from: [{tag: [v*]}]}")).from_
    with pytest.raises(ConfigError, match="declares nothing"):
        parse_config("components: {web: {image: ghcr.io/acme/web}}")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (
            "releases:\n  from:\n    - registry: {component: api}\n",
            3,
            "unknown component 'api' (components: none are declared",
        ),
        ("releases:\n  from:\n    - tag: [v*]\n      ci: {}\n", 3, "not tag and ci together"),
        ("releases:\n  from:\n    - tagg: [v*]\n", 3, "tagg"),
        ("releases:\n  from:\n    - release: [publish]\n", 3, "did you mean 'published'"),
        ("releases:\n  from:\n    - ci: {status: [green]}\n", 3, "unknown CI status 'green'"),
        ("releases:\n  name: '{{ tag'\n  from: [{tag: []}]\n", 2, "template syntax error"),
        (
            "components:\n  web: {image: Registry.Example.com/Web:latest}\n"
            "releases: {from: [tag: ]}\n",
            2,
            "no tag and no digest",
        ),
        ("components:\n  we b: {image: ghcr.io/a/b}\nreleases: {from: [tag: ]}\n", 2, "we b"),
        (
            "components:\n  web: {image: ghcr.io/a/b, registry: Prod Registry}\n"
            "releases: {from: [tag: ]}\n",
            2,
            "registry 'Prod Registry' must name a registry integration of the server",
        ),
    ],
)
def test_problems_name_their_line(text: str, line: int, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    lines = raised.value.lines()
    assert any(f":{line}:" in shown and expected in shown for shown in lines), lines


def test_a_component_names_the_registry_integration_that_resolves_it() -> None:
    config = parse_config(
        "components:\n"
        "  web: {image: ghcr.io/acme/web, registry: prod-registry}\n"
        "  worker: {image: ghcr.io/acme/worker}\n"
        "releases: {from: [tag: ]}\n"
    )
    components = components_of(config)
    assert (components["web"].registry, components["worker"].registry) == ("prod-registry", None)


def test_a_registry_rule_naming_a_declared_component_is_valid() -> None:
    config = parse_config(
        "components: {web: {image: ghcr.io/acme/web}}\n"
        "releases: {from: [{registry: {component: web}}]}\n"
    )
    [rule] = releases_of(config).from_
    assert rule.registry is not None
    assert rule.registry.tags is None


def test_one_glob_or_word_is_a_list_of_one() -> None:
    releases = releases_of(parse_config("releases: {from: [{tag: v*}, {release: published}]}"))
    tag, release = releases.from_
    assert tag.tag is not None
    assert tag.tag.tags == ("v*",)
    assert release.release is not None
    assert release.release.actions == ("published",)
