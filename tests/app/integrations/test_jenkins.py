"""The Jenkins connector against a small Jenkins on loopback: the crumb and its cookie, the
form-encoded parameters, queue item → build → result, folders, a Jenkins without CSRF
protection, job discovery and the checks; through the hub, a refused token."""

from __future__ import annotations

import base64

import httpx
import pytest

from app.integrations.ci.jenkins import (
    BUILD_TREE,
    JOBS_TREE,
    JenkinsConfig,
    JenkinsConnector,
    build_status,
    job_url,
    parse_run_id,
)
from app.integrations.ci.service import HubCi
from app.integrations.connector import ConnectorContext
from app.integrations.errors import IntegrationError
from steps.integrations import CiRun, CiTrigger, IntegrationFailed
from tests.support.ci_integrations import ci_hub
from tests.support.integrations import nothing_listening
from tests.support.jenkins import CRUMB_FIELD, TOKEN, USER, VERSION, fake_jenkins

REFERENCE = "env://JENKINS_TOKEN"
RELEASE = {"release": "web 1.4.0", "environment": "staging", "digests": '{"web":"sha256:1"}'}


async def resolve(reference: str) -> str:
    assert reference == REFERENCE
    return TOKEN


def connector(http: httpx.AsyncClient, endpoint: str) -> JenkinsConnector:
    config = JenkinsConfig(endpoint=endpoint, username=USER)
    context = ConnectorContext("jenkins-prod", config, REFERENCE, http, resolve)
    return JenkinsConnector(context)


def basic(headers: dict[str, str]) -> None:
    assert (
        headers["authorization"] == "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    )


async def test_a_build_gets_a_crumb_and_posts_its_parameters_with_the_session_cookie(
    http: httpx.AsyncClient,
) -> None:
    async with fake_jenkins(jobs={"web": ["deploy"]}) as jenkins:
        run = await connector(http, jenkins.url).trigger(CiTrigger("web/deploy", inputs=RELEASE))

    [crumb] = jenkins.requests("GET", "/crumbIssuer/api/json")
    basic(crumb.headers)
    [post] = jenkins.requests("POST", "/job/web/job/deploy/buildWithParameters")
    basic(post.headers)
    assert post.content_type == "application/x-www-form-urlencoded"
    assert post.form == RELEASE
    [(session, issued)] = jenkins.issued.items()
    assert post.headers[CRUMB_FIELD.lower()] == issued
    assert post.cookies == {"JSESSIONID.2f1a0b3c": session}
    assert run == CiRun(
        "jenkins-prod", "queue:web/deploy#17", "queued", f"{jenkins.url}/job/web/job/deploy/"
    )
    assert [s.path for s in jenkins.seen] == [
        "/crumbIssuer/api/json",
        "/job/web/job/deploy/buildWithParameters",
    ]


async def test_the_queue_item_leads_to_the_build_and_its_result(http: httpx.AsyncClient) -> None:
    async with fake_jenkins(jobs={"web": ["deploy"]}, waits=1) as jenkins:
        jenkins_ci = connector(http, jenkins.url)
        queued = await jenkins_ci.trigger(CiTrigger("web/deploy", inputs=RELEASE))
        waiting = await jenkins_ci.read(queued.id)
        started = await jenkins_ci.read(queued.id)
        finished = await jenkins_ci.read(started.id)

    build_url = f"{jenkins.url}/job/web/job/deploy/42/"
    assert waiting == queued
    assert started == CiRun("jenkins-prod", "build:web/deploy#42", "running", build_url)
    assert finished == CiRun(
        "jenkins-prod", "build:web/deploy#42", "succeeded", build_url, "SUCCESS"
    )
    reads = jenkins.requests("GET", "/queue/item/17/api/json")
    assert len(reads) == 2
    builds = jenkins.requests("GET", "/job/web/job/deploy/42/api/json")
    assert [b.query for b in builds] == [{"tree": BUILD_TREE}] * 2
    for seen in [*reads, *builds]:
        basic(seen.headers)


@pytest.mark.parametrize(
    ("result", "status"),
    [
        ("SUCCESS", "succeeded"),
        ("UNSTABLE", "failed"),
        ("FAILURE", "failed"),
        ("ABORTED", "cancelled"),
        ("NOT_BUILT", "failed"),
    ],
)
async def test_a_finished_build_reads_as_its_result_says(
    http: httpx.AsyncClient, result: str, status: str
) -> None:
    async with fake_jenkins(build_answers=[(False, result)]) as jenkins:
        run = await connector(http, jenkins.url).read("build:deploy#42")

    assert (run.status, run.conclusion) == (status, result)
    assert run.url == f"{jenkins.url}/job/deploy/42/"


async def test_a_jenkins_without_csrf_protection_takes_the_post_without_a_crumb(
    http: httpx.AsyncClient,
) -> None:
    async with fake_jenkins(crumbs=False) as jenkins:
        run = await connector(http, jenkins.url).trigger(CiTrigger("deploy", inputs=RELEASE))

    assert run.id == "queue:deploy#17"
    [post] = jenkins.requests("POST", "/job/deploy/buildWithParameters")
    assert CRUMB_FIELD.lower() not in post.headers
    assert post.form == RELEASE
    assert jenkins.seen[0].path == "/crumbIssuer/api/json"


async def test_a_build_without_inputs_is_a_plain_build(http: httpx.AsyncClient) -> None:
    async with fake_jenkins() as jenkins:
        await connector(http, jenkins.url).trigger(CiTrigger("deploy"))

    [post] = jenkins.requests("POST", "/job/deploy/build")
    assert post.form == {}
    assert post.headers.get("content-length") == "0"


async def test_a_cancelled_queue_item_is_a_cancelled_run(http: httpx.AsyncClient) -> None:
    async with fake_jenkins(cancel=True) as jenkins:
        jenkins_ci = connector(http, jenkins.url)
        run = await jenkins_ci.read((await jenkins_ci.trigger(CiTrigger("deploy"))).id)

    assert (run.id, run.status, run.conclusion) == ("queue:deploy#17", "cancelled", "CANCELLED")


async def test_a_job_jenkins_does_not_have_is_not_found(http: httpx.AsyncClient) -> None:
    async with fake_jenkins(jobs={"web": ["deploy"]}) as jenkins:
        with pytest.raises(IntegrationError) as caught:
            await connector(http, jenkins.url).trigger(CiTrigger("web/nope", inputs=RELEASE))

    assert caught.value.code == "RESOURCE_NOT_FOUND"
    assert "no job 'web/nope'" in str(caught.value)


async def test_a_forgotten_queue_item_says_to_follow_the_build(http: httpx.AsyncClient) -> None:
    async with fake_jenkins() as jenkins:
        with pytest.raises(IntegrationError, match="follow the build") as caught:
            await connector(http, jenkins.url).read("queue:deploy#99")

    assert caught.value.code == "RESOURCE_NOT_FOUND"


async def test_discovers_jobs_and_the_jobs_of_folders(http: httpx.AsyncClient) -> None:
    async with fake_jenkins(jobs={"deploy": [], "web": ["api", "deploy"]}) as jenkins:
        found = await connector(http, jenkins.url).discover("jobs", {})

    [listing] = jenkins.requests("GET", "/api/json")
    assert listing.query == {"tree": JOBS_TREE}
    basic(listing.headers)
    assert [(r.type, r.name, r.url) for r in found] == [
        ("jobs", "deploy", f"{jenkins.url}/job/deploy/"),
        ("jobs", "web/api", f"{jenkins.url}/job/web/job/api/"),
        ("jobs", "web/deploy", f"{jenkins.url}/job/web/job/deploy/"),
    ]
    assert found[0].details == {"color": "red"}
    assert found[1].details == {"color": "blue", "folder": "web"}


async def test_checks_reach_sign_in_and_list(http: httpx.AsyncClient) -> None:
    async with fake_jenkins(jobs={"deploy": [], "web": ["api"]}) as jenkins:
        jenkins_ci = connector(http, jenkins.url)
        reached = await jenkins_ci.check("connectivity")
        signed_in = await jenkins_ci.check("authentication")
        listed = await jenkins_ci.check("functionality")

    assert reached == f"Jenkins {VERSION} answers (403)"  # anonymous may not read: still there
    assert "authorization" not in jenkins.seen[0].headers
    assert signed_in == f"signed in as {USER}"
    basic(jenkins.requests("GET", "/me/api/json")[0].headers)
    assert listed == "lists 2 jobs"


async def test_nothing_listening_is_connection_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(IntegrationError) as caught:
        await connector(http, nothing_listening()).check("connectivity")
    assert caught.value.code == "CONNECTION_REFUSED"


async def test_a_refused_token_is_authentication_failed_through_the_hub(migrated: str) -> None:
    async with fake_jenkins() as jenkins, ci_hub(migrated) as ci:
        await ci.register(
            "jenkins-prod",
            "jenkins",
            {"endpoint": jenkins.url, "username": USER},
            token="not-the-token-0000",
        )
        report = await ci.hub.test("jenkins-prod")
        with pytest.raises(IntegrationFailed) as caught:
            await HubCi(ci.hub).trigger("jenkins-prod", CiTrigger("deploy", inputs=RELEASE))

    results = {result.level: result for result in report.results}
    assert results["connectivity"].ok
    assert results["authentication"].code == "AUTHENTICATION_FAILED"
    assert report.health == "unhealthy"
    assert caught.value.code == "AUTHENTICATION_FAILED"
    assert "not-the-token-0000" not in str(caught.value)
    assert jenkins.requests("POST", "/job/deploy/buildWithParameters") == []
    assert ci.sleeps == []  # refused credentials are not tried again


async def test_a_build_through_the_hub_is_started_once_and_followed(migrated: str) -> None:
    async with fake_jenkins(waits=0) as jenkins, ci_hub(migrated) as ci:
        await ci.register(
            "jenkins-prod", "jenkins", {"endpoint": jenkins.url, "username": USER}, token=TOKEN
        )
        systems = HubCi(ci.hub)
        queued = await systems.trigger("jenkins-prod", CiTrigger("deploy", inputs=RELEASE))
        started = await systems.read("jenkins-prod", queued.id)

    assert queued.id == "queue:deploy#17"
    assert (started.id, started.status) == ("build:deploy#42", "running")
    assert len(jenkins.requests("POST", "/job/deploy/buildWithParameters")) == 1


def test_jobs_in_folders_have_a_job_segment_each() -> None:
    endpoint = "https://ci.example/jenkins"
    assert job_url(endpoint, "team/web/deploy") == f"{endpoint}/job/team/job/web/job/deploy"
    assert job_url(endpoint, "/my job/") == f"{endpoint}/job/my%20job"


@pytest.mark.parametrize(
    ("run_id", "parsed"),
    [
        ("queue:team/web#17", ("queue", "team/web", 17)),
        ("build:team/web#42", ("build", "team/web", 42)),
        ("deploy#7", ("build", "deploy", 7)),
    ],
)
def test_run_ids_say_what_to_read(run_id: str, parsed: tuple[str, str, int]) -> None:
    assert parse_run_id(run_id) == parsed


@pytest.mark.parametrize("run_id", ["42", "queue:deploy", "build:#4", "deploy#x"])
def test_other_run_ids_are_refused(run_id: str) -> None:
    with pytest.raises(IntegrationError, match="not a Jenkins run id"):
        parse_run_id(run_id)


def test_a_build_runs_until_it_has_a_result() -> None:
    assert build_status({"building": True, "result": None}) == ("running", None)
    assert build_status({"building": False, "result": None}) == ("running", None)
    assert build_status({"building": False, "result": "FAILURE"}) == ("failed", "FAILURE")


def test_the_config_needs_an_endpoint_and_a_username() -> None:
    with pytest.raises(ValueError, match="endpoint is required"):
        JenkinsConfig(username=USER)
    with pytest.raises(ValueError, match="username"):
        JenkinsConfig.model_validate({"endpoint": "https://ci.example"})
