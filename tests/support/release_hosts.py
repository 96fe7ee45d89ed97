"""Git hosts and a registry faked at their APIs for the releases' tests: any number of
repositories, each with its `.shipyard.yml`, its tags and its history; every call Shipyard
makes is recorded as the host's API takes it (GitHub and Gitea through respx, GitLab through
responses, as their clients talk httpx and requests). A call the fake does not know is
answered 404 and kept in `unexpected`, for the test to see. More of a host's API (its
deployments, say) comes from `answers`, asked first."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import responses
import respx

GITHUB_API = "https://api.github.com"
GITLAB = "https://gitlab.example.com"
GITEA = "https://gitea.example.com"
REGISTRY = "registry.example.com"
PUBLIC_URL = "http://shipyard.test"

SETTINGS = {
    "github": {"GITHUB_TOKEN": "ghp_releases_e2e_token"},
    "gitlab": {"GITLAB_URL": GITLAB, "GITLAB_TOKEN": "glpat-releases-e2e"},
    "gitea": {"GITEA_URL": GITEA, "GITEA_TOKEN": "gitea_releases_e2e"},
}
# The header each host's client authenticates with, and its value.
AUTH = {
    "github": ("authorization", "Bearer ghp_releases_e2e_token"),
    "gitlab": ("private-token", "glpat-releases-e2e"),
    "gitea": ("authorization", "token gitea_releases_e2e"),
}

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FakeRepository:
    config: str | None = None  # .shipyard.yml at the default branch; None: there is none
    tags: dict[str, str] = field(default_factory=dict)  # tag → the commit it points at
    history: list[str] = field(default_factory=list)  # the default branch's commits, oldest first
    default_branch: str = "main"

    def between(self, base: str, head: str) -> list[str]:
        """The commits after `base` up to `head`, oldest first: what a comparison lists."""
        start = self.history.index(base) + 1 if base in self.history else 0
        return self.history[start : self.history.index(head) + 1]

    def on_default_branch(self, ref: str | None) -> bool:
        """Whether `ref` names the default branch, or one of its commits (where `config` is)."""
        return ref == self.default_branch or ref in self.history

    def commit_of(self, ref: str) -> str | None:
        if ref in self.tags:
            return self.tags[ref]
        if ref == self.default_branch and self.history:
            return self.history[-1]
        return ref if ref in self.history else None


@dataclass(frozen=True)
class Call:
    method: str
    url: str  # as sent: the path percent-encoded as the client encoded it
    path: str  # the path, decoded
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: Any  # the JSON body, or None


@dataclass(frozen=True)
class Status:
    repository: str
    sha: str
    body: dict[str, Any]


@dataclass
class FakeHost:
    provider: str
    repositories: dict[str, FakeRepository]
    calls: list[Call] = field(default_factory=list)
    unexpected: list[Call] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, str]:
        return SETTINGS[self.provider]

    def asked(self, pattern: str) -> list[Call]:
        """The calls whose decoded path matches `pattern` (a regular expression)."""
        return [call for call in self.calls if re.search(pattern, call.path)]


@dataclass
class FakeRegistry:
    """Manifests by (repository name, tag) → digest, at https://registry.example.com."""

    manifests: dict[tuple[str, str], str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def answer(self, call: Call) -> Answer:
        found = re.fullmatch(r"/v2/(?P<name>.+)/manifests/(?P<tag>[^/]+)", call.path)
        digest = self.manifests.get((found["name"], found["tag"])) if found else None
        if call.method not in ("HEAD", "GET") or digest is None:
            unknown = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
            return _json(404, unknown)
        headers = {
            "docker-content-digest": digest,
            "content-type": "application/vnd.oci.image.index.v1+json",
        }
        return 200, headers, b""


def _json(status: int, data: Any) -> Answer:
    return status, {"content-type": "application/json"}, json.dumps(data).encode()


# --- each host's API, as a function of the call ------------------------------------------------


@dataclass(frozen=True)
class _Api:
    """What differs between the hosts' APIs for the calls the releases make."""

    repositories: str  # the path the repositories are under
    named: str  # the key a repository's answer names it by
    config: str  # where .shipyard.yml is read, under the repository
    file: Callable[[str], Answer]  # the answer carrying the config's text
    missing: dict[str, str]  # the host's 404 body
    more: Callable[[FakeRepository, str, str, Call], Answer | None]  # compare, commit lookup


def _serve(api: _Api, host: FakeHost, call: Call) -> Answer | None:
    """A repository's default branch, its config, a status set on a commit; the rest `more`."""
    found = re.fullmatch(rf"{api.repositories}/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)?", call.path)
    if found is None or found["repo"] not in host.repositories:
        return None
    repository, rest = found["repo"], found["rest"] or ""
    repo = host.repositories[repository]
    if call.method == "GET" and rest == "":
        return _json(200, {api.named: repository, "default_branch": repo.default_branch})
    if call.method == "GET" and rest == api.config:
        if repo.config is None or not repo.on_default_branch(call.query.get("ref")):
            return _json(404, api.missing)
        return api.file(repo.config)
    if call.method == "POST" and (sha := _after(rest, "/statuses/")):
        host.statuses.append(Status(repository, sha, call.body))
        return _json(201, {"id": len(host.statuses), "sha": sha, **call.body})
    return api.more(repo, repository, rest, call) if call.method == "GET" else None


def _github_more(repo: FakeRepository, repository: str, rest: str, call: Call) -> Answer | None:
    if basehead := _after(rest, "/compare/"):
        base, _, head = basehead.partition("...")
        commits = repo.between(base, head)
        listed = [{"sha": sha, "commit": {"message": f"commit {sha[:7]}"}} for sha in commits]
        answer = {"ahead_by": len(commits), "behind_by": 0, "commits": listed, "files": []}
        return _json(200, answer)
    if ref := _after(rest, "/commits/"):
        sha = repo.commit_of(ref)
        if sha is None:
            return _json(422, {"message": f"No commit found for SHA: {ref}"})
        if call.headers.get("accept") != "application/vnd.github.sha":
            return _json(200, {"sha": sha})
        return 200, {"content-type": "application/vnd.github.sha; charset=utf-8"}, sha.encode()
    return None


def _gitea_more(repo: FakeRepository, repository: str, rest: str, call: Call) -> Answer | None:
    if basehead := _after(rest, "/compare/"):
        base, _, head = basehead.partition("...")
        commits = repo.between(base, head) if head in repo.history else []
        newest_first = [{"sha": sha, "files": []} for sha in reversed(commits)]
        return _json(200, {"total_commits": len(commits), "commits": newest_first})
    if ref := _after(rest, "/git/commits/"):
        sha = repo.commit_of(ref)
        if sha is None:
            return _json(404, {"message": f"object does not exist [id: {ref}, rel_path: ]"})
        url = f"{GITEA}/api/v1/repos/{repository}/git/commits/{sha}"
        return _json(200, {"sha": sha, "url": url})
    return None


def _gitlab_more(repo: FakeRepository, repository: str, rest: str, call: Call) -> Answer | None:
    if rest == "/repository/compare":
        base, head = call.query["from"], call.query["to"]
        commits = repo.between(base, head) if head in repo.history else []
        return _json(200, {"commits": [{"id": sha} for sha in commits], "diffs": []})
    if ref := _after(rest, "/repository/commits/"):
        sha = repo.commit_of(ref)
        if sha is None:
            return _json(404, {"message": "404 Commit Not Found"})
        return _json(200, {"id": sha, "short_id": sha[:8], "title": "a commit"})
    return None


def _github_file(text: str) -> Answer:
    content = base64.b64encode(text.encode()).decode()
    return _json(200, {"type": "file", "encoding": "base64", "content": content})


_APIS: dict[str, _Api] = {
    "github": _Api(
        "/repos",
        "full_name",
        "/contents/.shipyard.yml",
        _github_file,
        {"message": "Not Found"},
        _github_more,
    ),
    "gitea": _Api(
        "/api/v1/repos",
        "full_name",
        "/raw/.shipyard.yml",
        lambda text: (200, {"content-type": "application/octet-stream"}, text.encode()),
        {"message": "The target couldn't be found.", "url": ""},
        _gitea_more,
    ),
    "gitlab": _Api(
        "/api/v4/projects",
        "path_with_namespace",
        "/repository/files/.shipyard.yml/raw",
        lambda text: (200, {"content-type": "text/plain"}, text.encode()),
        {"message": "404 File Not Found"},
        _gitlab_more,
    ),
}


def _after(rest: str, prefix: str) -> str | None:
    return rest[len(prefix) :] if rest.startswith(prefix) else None


def _call(method: str, url: str, headers: dict[str, str], content: bytes | None) -> Call:
    parts = urlsplit(url)
    body = json.loads(content) if content else None
    lowered = {name.lower(): value for name, value in headers.items()}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return Call(method, url, unquote(parts.path), query, lowered, body)


def _answered(
    record: list[Call], call: Call, answer: Answer | None, unexpected: list[Call]
) -> Answer:
    record.append(call)
    if answer is None:
        unexpected.append(call)
        return _json(404, {"message": "not faked"})
    return answer


# --- the transports ---------------------------------------------------------------------------


def _over_httpx(
    answer_of: Callable[[Call], Answer | None], record: list[Call], unexpected: list[Call]
) -> Callable[[httpx.Request], httpx.Response]:
    def side_effect(request: httpx.Request) -> httpx.Response:
        call = _call(request.method, str(request.url), dict(request.headers), request.content)
        status, headers, content = _answered(record, call, answer_of(call), unexpected)
        return httpx.Response(status, headers=headers, content=content)

    return side_effect


@contextmanager
def faked(
    provider: str,
    repositories: dict[str, FakeRepository],
    registry: FakeRegistry | None = None,
    *,
    answers: Callable[[Call], Answer | None] | None = None,
) -> Iterator[FakeHost]:
    """`provider`'s API serving `repositories` (and `registry`, when given), for the block;
    `answers` answers first the calls it knows (None: the ones it does not)."""
    host = FakeHost(provider, repositories)
    api = _APIS[provider]

    def answer_of(call: Call) -> Answer | None:
        answered = answers(call) if answers is not None else None
        return answered if answered is not None else _serve(api, host, call)

    with ExitStack() as stack:
        mock = stack.enter_context(respx.mock(assert_all_called=False))
        if registry is not None:
            served = _over_httpx(registry.answer, registry.calls, host.unexpected)
            mock.route(host=REGISTRY).mock(side_effect=served)
        if provider == "gitlab":
            stack.enter_context(_over_requests(host, answer_of))
        else:
            web = urlsplit(GITHUB_API if provider == "github" else GITEA).netloc
            served = _over_httpx(answer_of, host.calls, host.unexpected)
            mock.route(host=web).mock(side_effect=served)
        yield host


@contextmanager
def _over_requests(
    host: FakeHost, answer_of: Callable[[Call], Answer | None]
) -> Iterator[responses.RequestsMock]:
    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        content = request.body.encode() if isinstance(request.body, str) else request.body
        call = _call(request.method, request.url, dict(request.headers), content)
        return _answered(host.calls, call, answer_of(call), host.unexpected)

    everything = re.compile(rf"^{re.escape(GITLAB)}/.*")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, everything, callback=callback, content_type=None)
        yield mock
