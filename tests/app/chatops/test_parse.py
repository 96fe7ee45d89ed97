"""The comment command parser: every form, quoting, params, prefixes, and replies to mistakes."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.chatops.names import COMMANDS
from app.chatops.parse import Command, CommandError, parse_command

C = Command
_FIFTY_PARAMS = " ".join(f"k{n}=v{n}" for n in range(50))
_LONG_VALUE = "x" * 1000


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        # deploy
        ("/deploy", C("deploy")),
        ("/deploy staging", C("deploy", environment="staging")),
        ("/DEPLOY Staging", C("deploy", environment="Staging")),
        ("/Deploy 'staging'", C("deploy", environment="staging")),
        ("/deploy\u00a0staging", C("deploy", environment="staging")),
        ("/deploy noop staging", C("noop", environment="staging")),
        ("/deploy NOOP staging --force", C("noop", environment="staging", force=True)),
        ("/deploy noop", C("noop")),
        (
            "/deploy feature/login-v2 to staging",
            C("deploy", branch="feature/login-v2", environment="staging"),
        ),
        (
            "/deploy release/1.2 TO production --force",
            C("deploy", branch="release/1.2", environment="production", force=True),
        ),
        ("/deploy --force staging", C("deploy", environment="staging", force=True)),
        ("/deploy staging --FORCE", C("deploy", environment="staging", force=True)),
        (
            '/deploy staging | tag=v1.2 note="a b"',
            C("deploy", environment="staging", params={"tag": "v1.2", "note": "a b"}),
        ),
        (
            "/deploy staging | q=\"a|b\" r='c | d' s=e\\|f",
            C("deploy", environment="staging", params={"q": "a|b", "r": "c | d", "s": "e|f"}),
        ),
        ("/deploy staging|a=1", C("deploy", environment="staging", params={"a": "1"})),
        ("/deploy | a=1", C("deploy", params={"a": "1"})),
        (
            "/deploy main to staging | a.b-c_d=x=y e=",
            C("deploy", branch="main", environment="staging", params={"a.b-c_d": "x=y", "e": ""}),
        ),
        ("/deploy staging |", C("deploy", environment="staging")),
        ("/deploy noop staging | dry=1", C("noop", environment="staging", params={"dry": "1"})),
        (f"/deploy | {_FIFTY_PARAMS}", C("deploy", params={f"k{n}": f"v{n}" for n in range(50)})),
        (f"/deploy | big={_LONG_VALUE}", C("deploy", params={"big": _LONG_VALUE})),
        ("/deploy " + "a" * 200, C("deploy", environment="a" * 200)),
        ("/deploy v1.2_rc-3", C("deploy", environment="v1.2_rc-3")),
        # noop
        ("/noop", C("noop")),
        ("/noop staging", C("noop", environment="staging")),
        (
            "/noop staging --force | a=1",
            C("noop", environment="staging", force=True, params={"a": "1"}),
        ),
        # rollback
        ("/rollback production", C("rollback", environment="production")),
        (
            "/rollback production to v1.4.2",
            C("rollback", environment="production", release="v1.4.2"),
        ),
        ("/rollback production --force", C("rollback", environment="production", force=True)),
        # promote
        (
            "/promote staging to production",
            C("promote", source="staging", environment="production"),
        ),
        (
            "/promote v1.2.3 to production --force",
            C("promote", source="v1.2.3", environment="production", force=True),
        ),
        ("/promote to production", C("promote", environment="production")),
        ("/promote production", C("promote", environment="production")),
        # approve, reject (the environments are not known here: the first word names one)
        ("/approve", C("approve")),
        ("/approve production", C("approve", environment="production")),
        ("/reject", C("reject")),
        ("/reject staging", C("reject", environment="staging")),
        (
            "/reject staging tests   fail  here",
            C("reject", environment="staging", reason="tests fail here"),
        ),
        (
            '/reject staging --reason "flaky tests"',
            C("reject", environment="staging", reason="flaky tests"),
        ),
        ("/reject --reason flaky tests", C("reject", reason="flaky tests")),
        ('/reject "not ready" at all', C("reject", reason="not ready at all")),
        # confirm, cancel
        ("/confirm", C("confirm")),
        ("/cancel", C("cancel")),
        ("/cancel staging", C("cancel", environment="staging")),
        # lock, unlock
        ("/lock production", C("lock", environment="production")),
        (
            "/lock production --reason db migration --for 2h",
            C("lock", environment="production", reason="db migration", duration=7200.0),
        ),
        (
            "/lock production --for 2h --reason db migration",
            C("lock", environment="production", reason="db migration", duration=7200.0),
        ),
        (
            '/lock production --reason "db  migration"',
            C("lock", environment="production", reason="db  migration"),
        ),
        (
            "/lock --global --reason=freeze week --for=1d",
            C("lock", everywhere=True, reason="freeze week", duration=86400.0),
        ),
        ("/lock production --for 90s", C("lock", environment="production", duration=90.0)),
        ("/lock production --FOR 30m", C("lock", environment="production", duration=1800.0)),
        ("/lock production --for 1h30m", C("lock", environment="production", duration=5400.0)),
        ("/lock production --for 600", C("lock", environment="production", duration=600.0)),
        ("/lock production --for 30d", C("lock", environment="production", duration=30 * 86400.0)),
        ("/lock production --info", C("lock", environment="production", info=True)),
        ("/lock --global --info", C("lock", everywhere=True, info=True)),
        ("/unlock production", C("unlock", environment="production")),
        ("/unlock --global", C("unlock", everywhere=True)),
        ("/unlock production --force", C("unlock", environment="production", force=True)),
        # wcid, help
        ("/wcid", C("wcid")),
        ("/help", C("help")),
        ("/HELP", C("help")),
        # only the first line counts, surrounding whitespace aside
        ("\n\n   /deploy staging  \n/rollback production", C("deploy", environment="staging")),
        ("/deploy staging\n| a=1", C("deploy", environment="staging")),
        ("/approve\r\nthanks, looks good", C("approve")),
        ("LGTM\n/deploy staging", None),
        # not for Shipyard
        ("LGTM", None),
        ("", None),
        ("   \n\t", None),
        ("/usr/bin/env python", None),
        ("/ deploy", None),
        ("//deploy", None),
        ("/deploy/staging", None),
        ("/deploy, please", None),
        ("/123", None),
        ("/shrug", None),
        ("/cc @someone", None),
        ("/retest", None),
        ("/remove-lifecycle stale", None),
        ("please /deploy staging", None),
        ("deploy staging", None),
    ],
)
def test_a_comment_reads_as_its_command(comment: str, expected: Command | None) -> None:
    assert parse_command(comment) == expected


@pytest.mark.parametrize(
    ("comment", "prefix", "expected"),
    [
        (".deploy staging", ".", C("deploy", environment="staging")),
        ("/deploy staging", ".", None),
        ("!lock production --for 1h", "!", C("lock", environment="production", duration=3600.0)),
        ("sy:wcid", "sy:", C("wcid")),
        ("@shipyard deploy staging", "@shipyard ", C("deploy", environment="staging")),
        ("@Shipyard    Deploy staging", "@shipyard ", C("deploy", environment="staging")),
        ("@shipyard\tapprove", "@shipyard ", C("approve")),
        ("shipyard rollback production", "shipyard ", C("rollback", environment="production")),
        ("@shipyarddeploy", "@shipyard ", None),
        ("@shipyard-bot deploy", "@shipyard ", None),
        ("@shipyard", "@shipyard ", None),
        ("@shipyard thanks!", "@shipyard ", None),
        ("/deploy staging", "@shipyard ", None),
    ],
)
def test_the_prefix_is_configurable(comment: str, prefix: str, expected: Command | None) -> None:
    assert parse_command(comment, prefix=prefix) == expected


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("/reject staging flaky build", C("reject", environment="staging", reason="flaky build")),
        ("/reject production", C("reject", environment="production")),
        ("/reject flaky build", C("reject", reason="flaky build")),
        ("/reject Staging", C("reject", reason="Staging")),
        ("/deploy qa", C("deploy", environment="qa")),  # only /reject asks
    ],
)
def test_known_environments_tell_a_reject_reason_from_an_environment(
    comment: str, expected: Command
) -> None:
    assert parse_command(comment, environments={"staging", "production"}) == expected


@pytest.mark.parametrize(
    ("comment", "prefix", "fragments"),
    [
        # misspelt commands
        ("/deplyo staging", "/", ["unknown command /deplyo; did you mean /deploy?"]),
        ("/rollbak production", "/", ["did you mean /rollback?"]),
        ("/unlcok production", "/", ["did you mean /unlock?"]),
        ("/Aprove", "/", ["/Aprove", "did you mean /approve?"]),
        ("!deplyo", "!", ["unknown command !deplyo; did you mean !deploy?"]),
        ("@shipyard  deplyo", "@shipyard ", ["@shipyard deplyo; did you mean @shipyard deploy?"]),
        # extra words and flags a command does not take
        ("/approve staging now", "/", ["/approve takes no 'now' (usage: /approve [ENV])"]),
        ("@shipyard approve staging now", "@shipyard ", ["(usage: @shipyard approve [ENV])"]),
        ("/confirm yes", "/", ["/confirm takes no 'yes'", "(usage: /confirm)"]),
        ("/wcid now", "/", ["/wcid takes no 'now'"]),
        ("/help me", "/", ["/help takes no 'me'"]),
        ("/cancel staging now", "/", ["/cancel takes no 'now'"]),
        ("/approve --force", "/", ["/approve takes no '--force'"]),
        ("/deploy staging --global", "/", ["/deploy takes no '--global'", "/deploy BRANCH to ENV"]),
        ("/deploy staging --reason=x", "/", ["/deploy takes no '--reason'"]),
        ("/reject staging --force", "/", ["/reject takes no '--force'"]),
        ("/unlock production --for 2h", "/", ["/unlock takes no '--for'"]),
        ("/deploy staging production", "/", ["takes no 'production'"]),
        ("/deploy main to staging now", "/", ["takes no 'now'"]),
        ("/rollback production v1", "/", ["/rollback takes no 'v1'"]),
        ("/promote a b to production", "/", ["/promote takes no 'b'"]),
        ("/reject staging bad --reason worse", "/", ["/reject takes no 'bad'"]),
        ("/lock production db migration", "/", ["/lock takes no 'db'"]),
        # missing arguments
        ("/deploy to staging", "/", ["/deploy needs a branch before 'to'"]),
        ("/deploy main to", "/", ["/deploy needs an environment after 'to'"]),
        (
            "/rollback",
            "/",
            ["/rollback needs an environment", "(usage: /rollback ENV [to RELEASE])"],
        ),
        ("/rollback production to", "/", ["/rollback needs a release after 'to'"]),
        ("/promote", "/", ["/promote needs an environment", "promote [RELEASE|ENV] to ENV"]),
        ("/promote staging to", "/", ["/promote needs an environment after 'to'"]),
        ("/lock", "/", ["/lock needs an environment or --global", "--for 2h"]),
        ("/lock --reason db migration", "/", ["/lock needs an environment or --global"]),
        ("/unlock", "/", ["/unlock needs an environment or --global"]),
        ("/lock production --global", "/", ["not both"]),
        ("/unlock production --global", "/", ["not both"]),
        # flag values
        ("/lock production --for", "/", ["--for needs", "30 days"]),
        ("/lock production --for --reason x", "/", ["--for needs"]),
        ("/lock production --for 0", "/", ["--for needs", "not '0'"]),
        ("/lock production --for 31d", "/", ["not '31d'", "at most 30 days"]),
        ("/lock production --for soon", "/", ["not 'soon'"]),
        ("/lock production --for -5", "/", ["not '-5'"]),
        ("/lock production --for 1e400", "/", ["not '1e400'"]),
        ("/lock production --for " + "9" * 400, "/", ["--for needs", "...'"]),
        ("/lock production --reason", "/", ["--reason needs a text"]),
        ("/lock production --reason=", "/", ["--reason needs a text"]),
        ("/lock production --reason ''", "/", ["--reason needs a text"]),
        ("/lock production --for 1h --for 2h", "/", ["--for is given twice"]),
        ("/unlock production --force --force", "/", ["--force is given twice"]),
        ("/lock production --info --reason x", "/", ["--info takes no --reason or --for"]),
        ("/lock production --info=yes", "/", ["--info takes no value"]),
        # quoting (only the first line counts, so a quote closed on the next line is unclosed)
        ("/deploy 'staging", "/", ["unclosed quote in /deploy", "(usage: /deploy"]),
        ('/deploy staging | note="a b', "/", ["unclosed quote"]),
        ('/lock production --reason "db\nmigration"', "/", ["unclosed quote in /lock"]),
        ('/deploy "odd|name" | a=1', "/", ["bad environment name 'odd|name'"]),
        ("/deploy staging\\", "/", ["nothing after '\\' in /deploy"]),
        # params
        ("/deploy staging | novalue", "/", ["parameter 'novalue' is not key=value"]),
        ("/deploy staging | 1key=x", "/", ["parameter '1key=x' is not key=value"]),
        ("/deploy staging | =x", "/", ["parameter '=x' is not key=value"]),
        ("/deploy staging | a=1 --force", "/", ["parameter '--force' is not key=value"]),
        ("/deploy staging | a=1 a=2", "/", ["parameter 'a' is given twice"]),
        (f"/deploy staging | big=x{_LONG_VALUE}", "/", ["parameter 'big' is over 1000 characters"]),
        (f"/deploy | {_FIFTY_PARAMS} one=more", "/", ["at most 50 parameters, not 51"]),
        ("/rollback production | a=1", "/", ["/rollback takes no parameters after '|'"]),
        ("/lock production | a=1", "/", ["/lock takes no parameters after '|'"]),
        # names
        ("/deploy bad$env", "/", ["bad environment name 'bad$env'", "(usage: /deploy"]),
        ("/deploy -staging", "/", ["bad environment name '-staging'"]),
        ("/deploy " + "a" * 201, "/", ["bad environment name 'aaaa", "...'"]),
        ("/deploy feature~1 to staging", "/", ["bad branch name 'feature~1'"]),
        ("/rollback production to v1;rm", "/", ["bad release name 'v1;rm'"]),
        ("/promote ../x to production", "/", ["bad source name '../x'"]),
        ("/approve st@ging", "/", ["bad environment name 'st@ging'"]),
        ("/unlock ünicode", "/", ["bad environment name 'ünicode'"]),
        # a line too long to read
        ("/deploy " + "a " * 40_000, "/", ["/deploy is too long"]),
    ],
)
def test_a_mistake_is_answered_with_what_is_wrong_and_the_usage(
    comment: str, prefix: str, fragments: list[str]
) -> None:
    with pytest.raises(CommandError) as raised:
        parse_command(comment, prefix=prefix)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_a_blank_prefix_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="prefix"):
        parse_command("/deploy", prefix="  ")


_PIECES = st.sampled_from(
    [" ", "  ", "\t", "\n", "\u00a0", "'", '"', "\\", "|", "=", "--", "-", "to", "noop",
     "--force", "--global", "--info", "--reason", "--reason=", "--for", "--for=", "2h", "0",
     "31d", "1h30m", "staging", "feature/x", "a=b", "k=", "..", "é", "😀", "\x00", "#"]
)  # fmt: skip
_LINES = st.builds(
    lambda prefix, word, pieces: prefix + word + "".join(pieces),
    st.sampled_from(["/", "", "  /", "\n/", "@shipyard "]),
    st.sampled_from([*COMMANDS, "DEPLOY", "deplyo", "shrug", ""]),
    st.lists(st.one_of(_PIECES, st.text(max_size=5)), max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(comment=st.one_of(st.text(), _LINES), prefix=st.sampled_from(["/", "!", "@shipyard "]))
@example(comment="/lock x --for " + "9" * 400, prefix="/")
@example(comment="/deploy '|' | a='|'\\", prefix="/")
def test_any_comment_gives_a_command_none_or_a_command_error(comment: str, prefix: str) -> None:
    outcome: Command | CommandError | None
    try:
        outcome = parse_command(comment, prefix=prefix, environments=["staging"])
    except CommandError as error:
        outcome = error
    if isinstance(outcome, CommandError):
        assert str(outcome)
    else:
        assert outcome is None or outcome.name in COMMANDS
