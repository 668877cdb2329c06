"""Group policies: declarative rules that decide each parameter's lr, weight decay and schedule.

A policy is a list of rules. Each rule has a selector (``match``) and effects; the facets a
rule can set are ``lr`` (``lr`` absolute or ``lr_scale`` of the base lr), ``weight_decay``
(``weight_decay`` absolute or ``wd_scale`` of the default), ``frozen``, ``schedule`` (a named
schedule of the recipe) and ``layer_decay`` (lr multiplied by ``rate ** (max_id - id)``).

Precedence: for each facet, the matching rule with the highest ``priority`` decides; the
``defaults`` table is below every rule. Two matching rules of equal priority that set one
facet of one parameter to different values are an error naming both rules and the parameter,
unless a rule of higher priority decides that facet (so the order of the rules never matters).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import SpecError, describe
from ..fields import (
    FACTOR_MAX,
    LR_RANGE,
    Bool,
    Declared,
    Int,
    Kind,
    ListOf,
    Optional,
    Real,
    Record,
    build,
    did_you_mean,
    param,
)

try:  # the stdlib's regex parser, used to refuse patterns that backtrack catastrophically
    from re import _constants as _rc
    from re import _parser as _rp
except ImportError:  # Python 3.10
    import sre_constants as _rc  # type: ignore[no-redef]
    import sre_parse as _rp  # type: ignore[no-redef]

frozen = dataclasses.dataclass(frozen=True)

FACETS = ("lr", "weight_decay", "frozen", "schedule", "layer_decay")
"""What a rule or the defaults can decide for a parameter."""
_GLOB_CHARS = set("*?[")
_REGEX_ONLY = set("\\()+^$|{}")


class How(enum.IntEnum):
    """How an effect decides a facet (an int, so that the resolver keeps it in arrays)."""

    UNSET = 0
    """Nothing decides it: the base lr, the optimizer's weight decay, the default schedule."""
    SET = 1
    """The value itself: an absolute ``lr`` or ``weight_decay``, or the ``frozen`` flag, the
    ``schedule`` name, the ``layer_decay`` rate."""
    SCALE = 2
    """A multiplier: ``lr_scale`` of the base lr, ``wd_scale`` of the default weight decay."""


class Strings(Kind):
    """A string or a list of strings (stored as a tuple), each checked by a pattern lint."""

    def __init__(self, what: str, lint: bool = True) -> None:
        self.what, self.lint = what, lint
        self.accepts = f"a {what} or a list of them"

    def coerce(self, value: Any, path: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise self.fail(path, value)
        for i, item in enumerate(items):
            where = path if isinstance(value, str) else f"{path}[{i}]"
            problem = lint_pattern(item, self.what) if self.lint else None
            if problem is None and not item:
                problem = "is empty"
            if problem:
                raise SpecError(where, problem)
        return tuple(items)

    def to_data(self, value: tuple[str, ...]) -> list[str]:
        return list(value)


class Dims(ListOf):
    """Numbers of dimensions: one integer or a list of them (stored as a tuple)."""

    def __init__(self) -> None:
        super().__init__(Int(0, 64))
        self.accepts = "an integer in [0, 64] or a list of them"

    def coerce(self, value: Any, path: str) -> tuple[int, ...]:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        return super().coerce(value, path)


class GlobIds(Kind):
    """Explicit layer ids: a table ``{glob = id}`` (stored as a tuple of pairs, in order)."""

    accepts = "a table of glob = id"

    def coerce(self, value: Any, path: str) -> tuple[tuple[str, int], ...]:
        if isinstance(value, dict):
            pairs = list(value.items())
        elif isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            pairs = list(value)
        else:
            raise self.fail(path, value)
        out = []
        for glob, layer in pairs:
            where = f"{path}.{glob}"
            problem = lint_pattern(glob, "glob") if isinstance(glob, str) else "is not a glob"
            if problem:
                raise SpecError(where, problem)
            out.append((glob, Int(0).coerce(layer, where)))
        return tuple(out)

    def to_data(self, value: tuple[tuple[str, int], ...]) -> dict[str, int]:
        return dict(value)


class Pattern(Kind):
    """A single pattern string, checked by :func:`lint_pattern`."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.accepts = f"a {what} string"

    def coerce(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, value)
        problem = lint_pattern(value, self.what)
        if problem:
            raise SpecError(path, problem)
        return value


def lint_pattern(text: str, what: str) -> str | None:
    """What is suspicious about a pattern, with the suggested fix; None if it looks right."""
    if not text:
        return "is empty; an empty pattern matches nothing useful"
    stripped = text.strip().strip(",;'\"").strip()
    if text != text.strip():
        return f"{text!r} has leading or trailing whitespace; did you mean {stripped!r}?"
    if text[-1] in ",;" or text[0] in ",;":
        stray = text[-1] if text[-1] in ",;" else text[0]
        return f"{text!r} has a stray {stray!r}; did you mean {stripped!r}?"
    if text[0] in "'\"" or text[-1] in "'\"":
        return f"{text!r} has a stray quote; did you mean {stripped!r}?"
    if what != "regex" and any(c.isspace() for c in text):
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        return f"{text!r} contains whitespace; write separate items: {parts!r}"
    if what != "regex" and "," in text:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return f"{text!r} contains ','; write separate items: {parts!r}"
    if what == "glob" and set(text) & _REGEX_ONLY:
        return (
            f"glob {text!r} contains regex syntax; a glob uses '*' and '?' "
            f"(e.g. {_regex_to_glob_hint(text)!r}), or write it as a regex"
        )
    if what in ("prefix", "name", "tag", "substring") and set(text) & _GLOB_CHARS:
        return f"{what} {text!r} is literal but contains glob characters; use glob = {text!r}"
    if what == "regex":
        try:
            with warnings.catch_warnings():  # re warns of sets whose meaning will change
                warnings.simplefilter("error", FutureWarning)
                re.compile(text)
        except FutureWarning as err:  # e.g. '[[:digit:]]', a POSIX class re does not know
            return f"regex {describe(text)} is ambiguous ({err}); escape the set characters"
        except re.error as err:
            return f"invalid regular expression {describe(text)}: {err}"
        except (RecursionError, OverflowError) as err:  # nested too deeply, a{10**20}
            return f"invalid regular expression {describe(text)}: {type(err).__name__}: {err}"
        return backtracking_risk(text)
    return None


# -- catastrophic backtracking ------------------------------------------------------------
#
# Python's ``re`` backtracks: ``(a+)+$`` takes seconds on one 40-character name. The guard
# walks the parsed pattern and refuses the two shapes that cause it, inside a repeat whose
# count varies: another varying repeat (a nested quantifier, unless a character it cannot
# match ends each round, as in ``(\w+\.)*``), and alternatives that can begin alike
# (``(a|a)*``, which the parser turns into ``a(|)``: two empty alternatives).

_VARIABLE_REPEATS = frozenset({_rc.MAX_REPEAT, _rc.MIN_REPEAT})
_PROBES = [chr(i) for i in range(128)] + ["\u00e9", "\u00b2", "\u0660", "\u3000"]
_CATEGORY_PATTERNS = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
}
_CharTest = Callable[[str], bool]


@functools.cache
def _category(name: str) -> Callable[[str], Any]:
    """The one-character test of a regex category, compiled on first use (not at import)."""
    return re.compile(_CATEGORY_PATTERNS[name]).fullmatch


def backtracking_risk(text: str) -> str | None:
    """Why the regex ``text`` (which compiles) could backtrack catastrophically, or None."""
    try:
        parsed = _rp.parse(text)
        icase = bool(parsed.state.flags & re.IGNORECASE)
        shape = _risky(list(parsed), False, icase)
    except (RecursionError, re.error, OverflowError, ValueError):
        shape = "nests too deeply to check"
    if shape is None:
        return None
    return (
        f"regular expression {describe(text)} {shape}, which can take exponential time "
        "on a single name; write it with one quantifier per part (e.g. 'a+' for '(a+)+', "
        "'a*' for '(a|a)*')"
    )


def _risky(items: list[Any], repeated: bool, icase: bool) -> str | None:
    for k, (op, av) in enumerate(items):
        if op in _VARIABLE_REPEATS or op is getattr(_rc, "POSSESSIVE_REPEAT", None):
            low, high, body = av
            varies = high != low and high > 1 and op in _VARIABLE_REPEATS
            if repeated and varies:
                after = items[k + 1] if k + 1 < len(items) else items[0]
                ends = _char_test(after, icase)
                inner = _char_test(next(iter(body)), icase) if len(body) == 1 else None
                if ends is None or inner is None or _overlap(inner, ends):
                    return "nests a repeat inside a repeat"
            inner_items = list(body)
            if len(inner_items) == 1 and inner_items[0][0] is _rc.SUBPATTERN:
                inner_items = list(inner_items[0][1][3])
            found = _risky(inner_items, repeated or varies, icase)
            if found:
                return found
        elif op is _rc.SUBPATTERN:
            found = _risky(list(av[3]), repeated, icase)
            if found:
                return found
        elif op is _rc.BRANCH:
            alternatives = [list(alt) for alt in av[1]]
            if repeated:
                firsts = [_first(alt, icase) for alt in alternatives]
                for i in range(len(firsts)):
                    for j in range(i):
                        if _begin_alike(firsts[i], firsts[j]):
                            return "repeats alternatives that can match the same text"
            for alt in alternatives:
                found = _risky(alt, repeated, icase)
                if found:
                    return found
        elif op in (_rc.ASSERT, _rc.ASSERT_NOT):
            found = _risky(list(av[1]), repeated, icase)
            if found:
                return found
        elif op is _rc.GROUPREF_EXISTS:
            for part in av[1:]:
                found = _risky(list(part), repeated, icase) if part is not None else None
                if found:
                    return found
    return None


def _char_test(item: tuple[Any, Any], icase: bool) -> _CharTest | None:
    """A predicate for a one-character item (a literal, ``.``, a set), else None."""
    op, av = item
    fold = str.lower if icase else str
    if op is _rc.LITERAL:
        char = fold(chr(av))
        return lambda ch: fold(ch) == char
    if op is _rc.NOT_LITERAL:
        char = fold(chr(av))
        return lambda ch: fold(ch) != char
    if op is _rc.ANY:
        return lambda ch: True
    if op is _rc.IN:
        negate = bool(av) and av[0][0] is _rc.NEGATE
        tests: list[_CharTest] = []
        for sop, sav in av[1:] if negate else av:
            if sop is _rc.LITERAL:
                char = fold(chr(sav))
                tests.append(lambda ch, c=char: fold(ch) == c)
            elif sop is _rc.RANGE:
                tests.append(lambda ch, lo=sav[0], hi=sav[1]: _in_range(ch, lo, hi, icase))
            elif sop is _rc.CATEGORY and str(sav) in _CATEGORY_PATTERNS:
                match = _category(str(sav))
                tests.append(lambda ch, m=match: m(ch) is not None)
            else:
                return None
        if negate:
            return lambda ch: not any(t(ch) for t in tests)
        return lambda ch: any(t(ch) for t in tests)
    return None


def _in_range(ch: str, low: int, high: int, icase: bool) -> bool:
    variants = {ch, ch.lower(), ch.upper()} if icase else {ch}
    return any(len(c) == 1 and low <= ord(c) <= high for c in variants)


def _overlap(a: _CharTest, b: _CharTest) -> bool:
    return any(a(ch) and b(ch) for ch in _PROBES)


def _first(items: list[Any], icase: bool) -> _CharTest | str | None:
    """How an alternative begins: ``"empty"`` (it can match nothing), a one-character
    predicate, or None (not known: assumed to begin like anything)."""
    if not items:
        return "empty"
    op, av = items[0]
    if op is _rc.SUBPATTERN:
        return _first([*av[3], *items[1:]], icase)
    if op in _VARIABLE_REPEATS and av[0] >= 1 and len(av[2]) == 1:
        return _char_test(next(iter(av[2])), icase)
    return _char_test(items[0], icase)


def _begin_alike(a: _CharTest | str | None, b: _CharTest | str | None) -> bool:
    if a is None or b is None:
        return True
    if a == "empty" or b == "empty":
        return a == b
    return _overlap(a, b)  # type: ignore[arg-type]


def _regex_to_glob_hint(text: str) -> str:
    return text.replace("\\.", ".").replace(".*", "*").replace("^", "").replace("$", "")


NAME_CONDITIONS = ("glob", "regex", "prefix", "contains", "name")
"""The conditions over a parameter's name (its canonical name and its aliases)."""
ITEM_CONDITIONS = (*NAME_CONDITIONS, "tags", "ndim")
"""The conditions that list items, any one of which may match."""


@frozen
class Selector(Declared):
    """Which parameters a rule applies to. Every condition given must hold (AND); within a
    condition, any listed item may match (OR). Names are the canonical dotted names (and the
    aliases of tied parameters). Each item must select some parameter that the other
    conditions allow, unless it is listed in ``optional``."""

    glob: tuple[str, ...] = param(Strings("glob"), "shell-style patterns over the full name", ())
    regex: tuple[str, ...] = param(Strings("regex"), "regular expressions, full match", ())
    prefix: tuple[str, ...] = param(Strings("prefix"), "name prefixes", ())
    contains: tuple[str, ...] = param(Strings("substring"), "substrings of the name", ())
    name: tuple[str, ...] = param(Strings("name"), "exact names", ())
    tags: tuple[str, ...] = param(Strings("tag"), "tags (any of)", ())
    ndim: tuple[int, ...] = param(Dims(), "accepted numbers of dimensions", ())
    shape: tuple[int, ...] | None = param(Optional(ListOf(Int(0))), "exact shape", None)
    layers: tuple[int, ...] | None = param(
        Optional(ListOf(Int(0), min_len=2, max_len=2)), "layer-id range [first, last]", None
    )
    optional: tuple[str, ...] = param(
        Strings("item", lint=False), "items above that may select nothing", ()
    )

    def _check(self) -> None:
        given = [f.name for f in dataclasses.fields(self) if f.name != "optional"]
        if not any(getattr(self, name) not in ((), None) for name in given):
            raise SpecError(
                "",
                "an empty match selects nothing; give glob, regex, prefix, "
                "contains, name, tags, ndim, shape or layers",
            )
        if self.layers is not None and self.layers[0] > self.layers[1]:
            raise SpecError("layers", f"first must be <= last, got {list(self.layers)}")
        listed = [item for c in ITEM_CONDITIONS[:-1] for item in getattr(self, c)]
        for i, item in enumerate(self.optional):
            if item not in listed:
                raise SpecError(
                    f"optional[{i}]",
                    f"{item!r} is not an item of this match; {did_you_mean(item, listed)}"
                    "optional lists items of glob, regex, prefix, contains, name or tags",
                )

    def conditions(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The conditions given, in declaration order, each with its items (``shape`` and
        ``layers`` are one item each)."""
        out: list[tuple[str, tuple[Any, ...]]] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "optional" or value in ((), None):
                continue
            out.append((f.name, value if f.name in ITEM_CONDITIONS else (value,)))
        return out


@frozen
class Defaults(Declared):
    """Settings for every trainable parameter, below all rules."""

    lr: float | None = param(Optional(Real(*LR_RANGE)), "absolute lr", None)
    lr_scale: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the base lr", None
    )
    weight_decay: float | None = param(Optional(Real(0.0, FACTOR_MAX)), "weight decay", None)
    schedule: str | None = param(Optional(Pattern("name")), "named schedule", None)

    def _check(self) -> None:
        if self.lr is not None and self.lr_scale is not None:
            raise SpecError("lr_scale", "give lr or lr_scale, not both")


@frozen
class Rule(Declared):
    """A selector and the facets it sets."""

    name: str = param(Pattern("name"), "the rule's name, used in reports")
    match: Selector = param(Record(Selector, "a match table"), "which parameters")
    priority: int = param(Int(-1000, 1000), "higher wins per facet", 0)
    optional: bool = param(Bool(), "allowed to match nothing", False)
    lr: float | None = param(Optional(Real(*LR_RANGE)), "absolute lr", None)
    lr_scale: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the base lr", None
    )
    weight_decay: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "absolute weight decay", None
    )
    wd_scale: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the default decay", None
    )
    frozen: bool | None = param(Optional(Bool()), "exclude from the optimizer", None)
    schedule: str | None = param(Optional(Pattern("name")), "named schedule to follow", None)
    layer_decay: float | None = param(
        Optional(Real(0.0, 1.0, open_low=True)), "lr x rate ** (max_id - id)", None
    )

    def _check(self) -> None:
        if self.lr is not None and self.lr_scale is not None:
            raise SpecError("lr_scale", "give lr or lr_scale, not both")
        if self.weight_decay is not None and self.wd_scale is not None:
            raise SpecError("wd_scale", "give weight_decay or wd_scale, not both")
        if not self.effects():
            raise SpecError(
                "",
                f"rule {self.name!r} sets nothing; give lr, lr_scale, weight_decay, "
                "wd_scale, frozen, schedule or layer_decay",
            )

    def effects(self) -> dict[str, Any]:
        """Facet -> effect, for the facets this rule sets: ``(How.SET | How.SCALE, value)``
        for ``lr`` and ``weight_decay``, the value itself for the others."""
        out: dict[str, Any] = {}
        if self.lr is not None:
            out["lr"] = (How.SET, self.lr)
        elif self.lr_scale is not None:
            out["lr"] = (How.SCALE, self.lr_scale)
        if self.weight_decay is not None:
            out["weight_decay"] = (How.SET, self.weight_decay)
        elif self.wd_scale is not None:
            out["weight_decay"] = (How.SCALE, self.wd_scale)
        for facet in ("frozen", "schedule", "layer_decay"):
            if getattr(self, facet) is not None:
                out[facet] = getattr(self, facet)
        return out


@frozen
class Layers(Declared):
    """How to read a parameter's layer id: a regex capture, plus explicit ids by glob."""

    pattern: str | None = param(Optional(Pattern("regex")), "regex whose group 1 is the id", None)
    offset: int = param(Int(-1000, 1000), "added to the captured id", 0)
    ids: tuple[tuple[str, int], ...] = param(GlobIds(), "table of glob = id", ())
    max_id: int | None = param(Optional(Int(0)), "the top layer id (default: the largest)", None)

    def _check(self) -> None:
        if self.pattern is not None and re.compile(self.pattern).groups < 1:
            raise SpecError("pattern", f"needs a capture group for the id, got {self.pattern!r}")
        if self.pattern is None and not self.ids:
            raise SpecError("pattern", "give a pattern, ids, or both")

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ids": dict(self.ids), "offset": self.offset}
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.max_id is not None:
            out["max_id"] = self.max_id
        return out


@frozen
class GroupPolicy:
    """The ``groups`` section of a recipe."""

    rules: tuple[Rule, ...]
    defaults: Defaults | None = None
    layers: Layers | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "groups") -> GroupPolicy:
        if not isinstance(data, dict):
            raise SpecError(path, f"must be a table, got {describe(data)}")
        for key in data:
            if key not in ("rules", "defaults", "layers"):
                raise SpecError(
                    f"{path}.{key}",
                    f"unknown field; {did_you_mean(key, ['rules', 'defaults', 'layers'])}"
                    "groups accepts: rules, defaults, layers",
                )
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise SpecError(
                f"{path}.rules", f"must be a list of rule tables, got {describe(raw_rules)}"
            )
        rules = []
        names: dict[str, int] = {}
        for i, raw in enumerate(raw_rules):
            where = f"{path}.rules[{i}]"
            if not isinstance(raw, dict):
                raise SpecError(where, f"must be a rule table, got {describe(raw)}")
            rule = build(Rule, raw, where)
            if rule.name in names:
                raise SpecError(
                    f"{where}.name",
                    f"{rule.name!r} is already the name of rules[{names[rule.name]}]",
                )
            names[rule.name] = i
            rules.append(rule)
        defaults = data.get("defaults")
        if defaults is not None:
            defaults = Record(Defaults, "a defaults table").coerce(defaults, f"{path}.defaults")
        layers = data.get("layers")
        if layers is not None:
            if not isinstance(layers, dict):
                raise SpecError(f"{path}.layers", f"must be a table, got {describe(layers)}")
            unknown = set(layers) - {"pattern", "offset", "ids", "max_id"}
            if unknown:
                raise SpecError(
                    f"{path}.layers.{sorted(unknown, key=str)[0]}",
                    "unknown field; layers accepts: pattern, offset, ids, max_id",
                )
            try:
                layers = Layers(**layers)
            except SpecError as err:
                raise err.within(f"{path}.layers") from None
        if not rules and defaults is None:
            raise SpecError(path, "needs rules, defaults, or both")
        policy = cls(tuple(rules), defaults, layers)
        for i, rule in enumerate(rules):
            if (rule.layer_decay is not None or rule.match.layers is not None) and layers is None:
                raise SpecError(f"{path}.rules[{i}]", "uses layer ids: add a groups.layers table")
        return policy

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.defaults is not None:
            out["defaults"] = _compact(self.defaults)
        if self.layers is not None:
            out["layers"] = self.layers.to_data()
        out["rules"] = [
            {**_compact(r, skip=("match",)), "match": _compact(r.match)} for r in self.rules
        ]
        return out

    def check_schedules(self, known: set[str] | frozenset[str]) -> None:
        """Raise SpecError for a rule or default naming a schedule not in ``known``."""
        where = [(f"groups.rules[{i}].schedule", r.schedule) for i, r in enumerate(self.rules)]
        if self.defaults is not None:
            where.append(("groups.defaults.schedule", self.defaults.schedule))
        for path, name in where:
            if name is not None and name not in known:
                raise SpecError(
                    path,
                    f"names an unknown schedule {name!r}; define it under [schedules.{name}] "
                    f"(known: {', '.join(sorted(known))})",
                )

    def schedule_names(self) -> set[str]:
        names = {r.schedule for r in self.rules if r.schedule}
        if self.defaults and self.defaults.schedule:
            names.add(self.defaults.schedule)
        return names


def _compact(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        if value == f.default:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
