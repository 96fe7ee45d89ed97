"""Comment commands (pure): the first line of a comment, like `/deploy staging`, to a `Command`."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from app.chatops.names import COMMANDS, USAGE
from steps.config_types import parse_duration

__all__ = ["Command", "CommandError", "parse_command"]

_WORD = re.compile(r"([A-Za-z][A-Za-z-]*)(?=\s|\Z)")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_PARAM_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
# Words split at any whitespace, a no-break space too (shlex on its own knows only ASCII's).
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_MAX_LINE = 65_536
_MAX_PARAMS = 50
_MAX_PARAM_VALUE = 1_000
_MAX_LOCK = 30 * 86_400.0
_DURATION_HINT = "a time above zero, at most 30 days: 90s, 30m, 2h, 1d, 1h30m or seconds (600)"

# The flags each command takes; `reason` and `for` carry a value, the others are switches.
_FLAGS: dict[str, frozenset[str]] = {
    "deploy": frozenset({"force"}),
    "noop": frozenset({"force"}),
    "rollback": frozenset({"force"}),
    "promote": frozenset({"force"}),
    "reject": frozenset({"reason"}),
    "lock": frozenset({"global", "reason", "for", "info"}),
    "unlock": frozenset({"global", "force"}),
}
_WITH_PARAMS = frozenset({"deploy", "noop"})


@dataclass(frozen=True)
class Command:
    """One command as written: which, where, and its options."""

    name: str  # one of names.COMMANDS
    environment: str | None = None
    branch: str | None = None  # /deploy BRANCH to ENV
    source: str | None = None  # /promote SOURCE to ENV (a release name or an environment)
    release: str | None = None  # /rollback ENV to RELEASE
    params: Mapping[str, str] = field(default_factory=dict)  # after `|`: key=value …
    reason: str | None = None  # /lock --reason …, /reject ENV reason…
    duration: float | None = None  # /lock --for 2h, in seconds
    force: bool = False  # --force
    everywhere: bool = False  # --global
    info: bool = False  # /lock ENV --info


class CommandError(ValueError):
    """A comment that is a Shipyard command but is written wrong: str() is the reply text,
    naming the problem and the usage (and a did-you-mean for a misspelt command)."""


def parse_command(
    body: str, prefix: str = "/", environments: Collection[str] | None = None
) -> Command | None:
    """The command on the comment's first line; None when that line is not addressed to us.

    `environments`, when known, tells `/reject ENV reason…` apart from `/reject reason…`.
    """
    addressed = _addressed(body, prefix)
    if addressed is None:
        return None
    shown_prefix, word, rest = addressed
    name = word.lower()
    if name not in USAGE:
        # 0.7, not difflib's 0.6: other bots' "/retest" and "/remove" are not near misses.
        close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.7)
        if not close:
            return None  # "/shrug" is for someone else
        raise CommandError(
            f"unknown command {shown_prefix}{word}; did you mean {shown_prefix}{close[0]}?"
        )
    args = _Args(name, shown_prefix, environments)
    args.read(rest)
    return _FORMS[name](args)


def _addressed(body: str, prefix: str) -> tuple[str, str, str] | None:
    """(the prefix as shown, the command word, the rest of the line) when the first line starts
    with the prefix and a word; a prefix ending in a space ("@shipyard ") takes any whitespace."""
    lead = prefix.strip()
    if not lead:
        raise ValueError("the command prefix must not be blank")
    text = body.strip()
    line = text.splitlines()[0].strip() if text else ""
    if line[: len(lead)].lower() != lead.lower():
        return None
    start, shown_prefix = len(lead), lead
    if prefix[-1].isspace():
        gap = re.match(r"\s+", line[start:])
        if gap is None:
            return None
        start, shown_prefix = start + gap.end(), lead + " "
    word = _WORD.match(line, start)
    return None if word is None else (shown_prefix, word.group(1), line[word.end() :])


@dataclass
class _Args:
    """What follows the command word, and how to complain about it."""

    name: str
    prefix: str
    environments: Collection[str] | None
    words: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def error(self, problem: str) -> CommandError:
        forms = (self.prefix + form for form in USAGE[self.name].split("  ·  "))
        return CommandError(f"{problem} (usage: {' · '.join(forms)})")

    def unexpected(self, word: str) -> CommandError:
        return self.error(f"{self.prefix}{self.name} takes no {_show(word)}")

    def read(self, rest: str) -> None:
        if len(rest) > _MAX_LINE:
            raise self.error(f"{self.prefix}{self.name} is too long")
        head, tail = _split_at_pipe(rest)
        if tail is not None and self.name not in _WITH_PARAMS:
            raise self.error(f"{self.prefix}{self.name} takes no parameters after '|'")
        self._read_flags(self._tokens(head))
        if tail is not None:
            self._read_params(self._tokens(tail))

    def _tokens(self, text: str) -> list[str]:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace, lexer.whitespace_split, lexer.commenters = _WHITESPACE, True, ""
        try:
            return list(lexer)
        except ValueError as error:
            problem = "unclosed quote" if "quotation" in str(error) else "nothing after '\\'"
            raise self.error(f"{problem} in {self.prefix}{self.name}") from None

    def _read_flags(self, tokens: list[str]) -> None:
        allowed = _FLAGS.get(self.name, frozenset())
        position = 0
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if not token.startswith("--"):
                self.words.append(token)
                continue
            flag, has_value, value = token[2:].partition("=")
            flag = flag.lower()
            if flag not in allowed:
                raise self.unexpected(token.partition("=")[0])
            if flag in self.flags:
                raise self.error(f"--{flag} is given twice")
            if flag not in ("reason", "for"):
                if has_value:
                    raise self.error(f"--{flag} takes no value")
                self.flags[flag] = ""
                continue
            if flag == "reason":  # every word up to the next --flag, so quotes are optional
                parts = [value] if has_value else []
                while position < len(tokens) and not tokens[position].startswith("--"):
                    parts.append(tokens[position])
                    position += 1
                value = " ".join(part for part in parts if part)
            elif not has_value and position < len(tokens) and not tokens[position].startswith("--"):
                value = tokens[position]
                position += 1
            if not value.strip():
                raise self.error(
                    f"--{flag} needs " + ("a text" if flag == "reason" else _DURATION_HINT)
                )
            self.flags[flag] = value.strip()

    def _read_params(self, tokens: list[str]) -> None:
        if len(tokens) > _MAX_PARAMS:
            raise self.error(f"at most {_MAX_PARAMS} parameters, not {len(tokens)}")
        for item in tokens:
            key, is_pair, value = item.partition("=")
            if not is_pair or not _PARAM_KEY.fullmatch(key):
                raise self.error(f"parameter {_show(item)} is not key=value")
            if key in self.params:
                raise self.error(f"parameter {key!r} is given twice")
            if len(value) > _MAX_PARAM_VALUE:
                raise self.error(f"parameter {key!r} is over {_MAX_PARAM_VALUE} characters")
            self.params[key] = value

    def checked(self, value: str, what: str) -> str:
        if not _NAME.fullmatch(value):
            raise self.error(
                f"bad {what} name {_show(value)}: use letters, digits, '.', '_', '/' and '-'"
            )
        return value

    def one(self, words: list[str], what: str, where: str = "") -> str:
        value = self.at_most_one(words, what)
        if value is None:
            article = "an" if what[0] in "aeiou" else "a"
            raise self.error(f"{self.prefix}{self.name} needs {article} {what}{where}")
        return value

    def at_most_one(self, words: list[str], what: str = "environment") -> str | None:
        if len(words) > 1:
            raise self.unexpected(words[1])
        return self.checked(words[0], what) if words else None

    def command(
        self,
        name: str | None = None,
        *,
        environment: str | None = None,
        branch: str | None = None,
        source: str | None = None,
        release: str | None = None,
    ) -> Command:
        """The command with its positional values, and the flags and params read."""
        return Command(
            name=name or self.name,
            environment=environment,
            branch=branch,
            source=source,
            release=release,
            params=self.params,
            reason=self.flags.get("reason"),
            force="force" in self.flags,
            everywhere="global" in self.flags,
            info="info" in self.flags,
        )


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _around_to(words: list[str]) -> tuple[list[str], list[str]] | None:
    """The words before and after the first `to`, if there is one."""
    for index, word in enumerate(words):
        if word.lower() == "to":
            return words[:index], words[index + 1 :]
    return None


def _deploy(args: _Args) -> Command:
    split = _around_to(args.words)
    if split is not None:
        branch = args.one(split[0], "branch", " before 'to'")
        return args.command(
            branch=branch, environment=args.one(split[1], "environment", " after 'to'")
        )
    if args.words and args.words[0].lower() == "noop":
        return args.command("noop", environment=args.at_most_one(args.words[1:]))
    return args.command(environment=args.at_most_one(args.words))


def _rollback(args: _Args) -> Command:
    split = _around_to(args.words)
    if split is None:
        return args.command(environment=args.one(args.words, "environment"))
    environment = args.one(split[0], "environment", " before 'to'")
    return args.command(
        environment=environment, release=args.one(split[1], "release", " after 'to'")
    )


def _promote(args: _Args) -> Command:
    split = _around_to(args.words)
    if split is None:
        return args.command(environment=args.one(args.words, "environment"))
    source = args.at_most_one(split[0], "source")
    return args.command(source=source, environment=args.one(split[1], "environment", " after 'to'"))


def _reject(args: _Args) -> Command:
    words, environment = args.words, None
    if words and _names_environment(words[0], args.environments):
        environment, words = args.checked(words[0], "environment"), words[1:]
    if words and "reason" in args.flags:
        raise args.unexpected(words[0])
    reason = " ".join(words) or args.flags.get("reason")
    return replace(args.command(environment=environment), reason=reason)


def _names_environment(word: str, environments: Collection[str] | None) -> bool:
    """Whether `/reject WORD …` names an environment (any name, when they are not known)."""
    if environments is None:
        return _NAME.fullmatch(word) is not None
    return word in environments


def _lock(args: _Args) -> Command:
    command = _environment_or_global(args)
    if command.info and {"reason", "for"} & args.flags.keys():
        raise args.error("--info takes no --reason or --for")
    if "for" not in args.flags:
        return command
    text = args.flags["for"]
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= _MAX_LOCK:
        raise args.error(f"--for needs {_DURATION_HINT}, not {_show(text)}")
    return replace(command, duration=seconds)


def _environment_or_global(args: _Args) -> Command:
    environment = args.at_most_one(args.words)
    if environment is None and "global" not in args.flags:
        raise args.error(f"{args.prefix}{args.name} needs an environment or --global")
    if environment is not None and "global" in args.flags:
        raise args.error(f"{args.prefix}{args.name} takes an environment or --global, not both")
    return args.command(environment=environment)


def _optional_environment(args: _Args) -> Command:
    return args.command(environment=args.at_most_one(args.words))


def _no_arguments(args: _Args) -> Command:
    if args.words:
        raise args.unexpected(args.words[0])
    return args.command()


_FORMS = {
    "deploy": _deploy,
    "noop": _optional_environment,
    "rollback": _rollback,
    "promote": _promote,
    "approve": _optional_environment,
    "reject": _reject,
    "confirm": _no_arguments,
    "cancel": _optional_environment,
    "lock": _lock,
    "unlock": _environment_or_global,
    "wcid": _no_arguments,
    "help": _no_arguments,
}


def _split_at_pipe(text: str) -> tuple[str, str | None]:
    """Split at the first `|` outside quotes (shell quoting, as shlex reads it)."""
    quote, index = "", 0
    while index < len(text):
        char = text[index]
        if char == "\\" and quote != "'":
            index += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            return text[:index], text[index + 1 :]
        index += 1
    return text, None
