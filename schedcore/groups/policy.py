"""Group policies: declarative rules that decide each parameter's lr, weight decay and schedule.

A policy is a list of rules. Each rule has a selector (``match``) and effects; the facets a
rule can set are ``lr`` (``lr`` absolute or ``lr_mult`` of the base lr), ``weight_decay``
(``weight_decay`` absolute or ``wd_mult`` of the default), ``frozen``, ``schedule`` (a named
schedule of the recipe) and ``layer_decay`` (lr multiplied by ``rate ** (max_id - id)``).

Precedence: for each facet, the matching rule with the highest ``priority`` decides; the
``defaults`` table is below every rule. Two matching rules of equal priority that set one
facet of one parameter to different values are an error naming both rules and the parameter,
unless a rule of higher priority decides that facet (so the order of the rules never matters).
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import re
import warnings
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
    param,
)

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
    """A multiplier: ``lr_mult`` of the base lr, ``wd_mult`` of the default weight decay."""


class Strings(Kind):
    """A string or a list of strings (stored as a tuple), each checked by a pattern lint."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.accepts = f"a {what} or a list of them"

    def coerce(self, value: Any, path: str) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise self.fail(path, value)
        for i, item in enumerate(items):
            where = path if isinstance(value, str) else f"{path}[{i}]"
            problem = lint_pattern(item, self.what)
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
            return f"regex {text!r} does not compile: {err}"
        except (RecursionError, OverflowError) as err:  # nested too deeply, a{10**20}
            return f"regex {describe(text)} does not compile: {type(err).__name__}: {err}"
    return None


def _regex_to_glob_hint(text: str) -> str:
    return text.replace("\\.", ".").replace(".*", "*").replace("^", "").replace("$", "")


@frozen
class Selector(Declared):
    """Which parameters a rule applies to. Every criterion given must hold; within a
    criterion, any listed item may match. Names are the canonical dotted names (and the
    aliases of tied parameters)."""

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

    def _check(self) -> None:
        if not any(getattr(self, f.name) not in ((), None) for f in dataclasses.fields(self)):
            raise SpecError(
                "",
                "an empty match selects nothing; give glob, regex, prefix, "
                "contains, name, tags, ndim, shape or layers",
            )
        if self.layers is not None and self.layers[0] > self.layers[1]:
            raise SpecError("layers", f"first must be <= last, got {list(self.layers)}")

    @property
    def name_regexes(self) -> list[re.Pattern[str]]:
        return [re.compile(fnmatch.translate(g)) for g in self.glob] + [
            re.compile(r) for r in self.regex
        ]


@frozen
class Defaults(Declared):
    """Settings for every trainable parameter, below all rules."""

    lr: float | None = param(Optional(Real(*LR_RANGE)), "absolute lr", None)
    lr_mult: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the base lr", None
    )
    weight_decay: float | None = param(Optional(Real(0.0, FACTOR_MAX)), "weight decay", None)
    schedule: str | None = param(Optional(Pattern("name")), "named schedule", None)

    def _check(self) -> None:
        if self.lr is not None and self.lr_mult is not None:
            raise SpecError("lr_mult", "give lr or lr_mult, not both")


@frozen
class Rule(Declared):
    """A selector and the facets it sets."""

    name: str = param(Pattern("name"), "the rule's name, used in reports")
    match: Selector = param(Record(Selector, "a match table"), "which parameters")
    priority: int = param(Int(-1000, 1000), "higher wins per facet", 0)
    optional: bool = param(Bool(), "allowed to match nothing", False)
    lr: float | None = param(Optional(Real(*LR_RANGE)), "absolute lr", None)
    lr_mult: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the base lr", None
    )
    weight_decay: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "absolute weight decay", None
    )
    wd_mult: float | None = param(
        Optional(Real(0.0, FACTOR_MAX)), "multiplier of the default decay", None
    )
    frozen: bool | None = param(Optional(Bool()), "exclude from the optimizer", None)
    schedule: str | None = param(Optional(Pattern("name")), "named schedule to follow", None)
    layer_decay: float | None = param(
        Optional(Real(0.0, 1.0, open_low=True)), "lr x rate ** (max_id - id)", None
    )

    def _check(self) -> None:
        if self.lr is not None and self.lr_mult is not None:
            raise SpecError("lr_mult", "give lr or lr_mult, not both")
        if self.weight_decay is not None and self.wd_mult is not None:
            raise SpecError("wd_mult", "give weight_decay or wd_mult, not both")
        if not self.effects():
            raise SpecError(
                "",
                f"rule {self.name!r} sets nothing; give lr, lr_mult, weight_decay, "
                "wd_mult, frozen, schedule or layer_decay",
            )

    def effects(self) -> dict[str, Any]:
        """Facet -> effect, for the facets this rule sets: ``(How.SET | How.SCALE, value)``
        for ``lr`` and ``weight_decay``, the value itself for the others."""
        out: dict[str, Any] = {}
        if self.lr is not None:
            out["lr"] = (How.SET, self.lr)
        elif self.lr_mult is not None:
            out["lr"] = (How.SCALE, self.lr_mult)
        if self.weight_decay is not None:
            out["weight_decay"] = (How.SET, self.weight_decay)
        elif self.wd_mult is not None:
            out["weight_decay"] = (How.SCALE, self.wd_mult)
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
                    f"{path}.{key}", "unknown field; groups accepts: rules, defaults, layers"
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
