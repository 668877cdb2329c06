"""Planning a schedule as OneFlow's graph-capable schedulers, and choosing the base lr.

In ``nn.Graph`` the lr schedule is compiled into the job: only schedulers with a Graph conf
run there, and a group's ``lr_scale`` is a static float (see :mod:`.kernels` for what each
scheduler computes). So a schedule is *planned*: each node becomes OneFlow schedulers by its
rule (:mod:`.rules`), the pieces are laid end to end on the global step, the optimizer's base
lr is chosen where the anchored schedulers start, and nodes without an exact equivalent are
either refused (:class:`~.kernels.NotLowerable`, naming the node and its path) or, with a
``tolerance``, approximated (:mod:`.approximate`). :func:`plan` gives a :class:`GraphPlan`,
framework-free: the OneFlow adapter (``schedcore_oneflow.graph``) constructs its
:meth:`GraphPlan.native` schedulers.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...groups.resolve import DEFAULT_SCHEDULE
from ...recipes import Recipe
from ...schedules.node import Schedule, from_dict
from ..native import Abs, Native
from .approximate import MAX_VERIFIED, Approximation, approximate, greedy_segments
from .kernels import FOREVER, SAME, Approx, Const, Leaf, NotLowerable, Origin, Ramp, Source, plural
from .pieces import Piece, Pieces, merge
from .rules import APPROXIMATED, Context, node_pieces


@dataclasses.dataclass(frozen=True)
class Scheduler:
    """One scheduler of the plan: active from ``start``, seeing ``k - offset``."""

    start: int
    offset: int
    kind: str
    settings: dict[str, Any]
    path: str

    def key(self) -> tuple[Any, ...]:
        return (self.start, self.offset, self.kind, _rounded(self.settings))

    def describe(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.settings.items())
        return f"{self.kind}({args})"


def _rounded(settings: dict[str, Any]) -> tuple[Any, ...]:
    out = []
    for k, v in settings.items():
        if isinstance(v, Abs):
            v = ("abs", float(f"{v.ratio:.12g}"))
        elif isinstance(v, float):
            v = float(f"{v:.12g}")
        elif isinstance(v, list):
            v = tuple(v)
        out.append((k, v))
    return tuple(out)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.10g}"
    if v == FOREVER:
        return "2**53+1"
    return repr(v)


@dataclasses.dataclass(frozen=True)
class GraphPlan:
    """A schedule planned as OneFlow schedulers.

    ``schedulers``: consecutive schedulers (one SequentialLR when there are several).
    ``anchor``: the optimizer's base lr in multiples of the recipe's lr (the value every
    anchored scheduler starts at). ``approximations`` and ``max_error`` (the largest relative
    error over every step, 0 when exact) report what a tolerance approximated: ``max_error``
    is that of Graph-mode LinearLR's arithmetic in double, at most the tolerance less
    :data:`~.approximate.FLOAT32_MARGIN`, which covers nn.Graph's float32 rounding; so the
    lr nn.Graph applies is within the tolerance of the recipe's at every step.
    """

    schedulers: tuple[Scheduler, ...]
    anchor: float
    approximations: tuple[Approximation, ...]
    log: tuple[tuple[str, str, str], ...]
    tolerance: float | None = None

    @property
    def exact(self) -> bool:
        return not self.approximations

    @property
    def max_error(self) -> float:
        return max((a.max_error for a in self.approximations), default=0.0)

    def key(self) -> tuple[Any, ...]:
        """Equal keys: the same shape (the same schedulers up to the base lr)."""
        return tuple(s.key() for s in self.schedulers)

    def clocks(self) -> list[tuple[bool, int]]:
        """How SequentialLR gives each scheduler its step ``k - offset``: per scheduler,
        ``(rescale, nested)``: ``interval_rescaling`` at its milestone (none for the first),
        and the milestone of a nested SequentialLR that subtracts the rest (0: none).

        OneFlow's Graph SequentialLR passes ``k - m`` on, ``m`` the last milestone passed
        whose ``interval_rescaling`` is true (0 if none): so a scheduler rescales (sees
        ``k - start``) only where no later one looks back before its start; the others
        see the clock of the last one that did and subtract the rest of their offset.
        """
        parts = self.schedulers
        later = [FOREVER] * len(parts)  # the earliest offset of the schedulers after each
        for i in range(len(parts) - 2, -1, -1):
            later[i] = min(later[i + 1], parts[i + 1].offset)
        out, clock = [], 0
        for i, s in enumerate(parts):
            rescale = i > 0 and s.offset == s.start and later[i] >= s.start
            clock = s.start if rescale else clock
            assert s.offset >= clock, (s, clock)
            out.append((rescale, s.offset - clock))
        return out

    def native(self, base_lr: float) -> Native:
        """The OneFlow scheduler to construct for an optimizer whose groups all have the base
        lr ``base_lr`` (absolute arguments such as ``eta_min`` are fractions of it): the
        single scheduler, or one SequentialLR whose clocks follow :meth:`clocks`."""

        def single(s: Scheduler) -> Native:
            return Native(s.kind, s.settings).with_base_lr(base_lr)

        def child(s: Scheduler, nested: int) -> Native:
            if not nested:
                return single(s)
            # it sees k - offset where the clock gives it k - clock: subtract the rest inside
            inner = single(s)
            return Native(
                "SequentialLR", {"milestones": [nested], "interval_rescaling": [True]},
                (inner, inner),
            )  # fmt: skip

        parts, clocks = self.schedulers, self.clocks()
        if len(parts) == 1:
            return child(parts[0], clocks[0][1])
        arguments = {
            "milestones": [s.start for s in parts[1:]],
            "interval_rescaling": [rescale for rescale, _ in clocks[1:]],
        }
        children = tuple(child(s, nested) for s, (_, nested) in zip(parts, clocks, strict=True))
        return Native("SequentialLR", arguments, children)

    def explain(self) -> str:
        lines = []
        width = max([len(p) for p, _, _ in self.log] + [4])
        for path, node_type, text in self.log:
            lines.append(f"  {path.ljust(width)}  {node_type:<21}  {text}")
        lines.append(f"  base lr: {self.anchor:g} x the lr (where the anchored schedulers start)")
        if len(self.schedulers) == 1:
            lines.append(f"  OneFlow: {self.schedulers[0].describe()}")
        else:
            s = self.schedulers
            milestones = [x.start for x in s[1:]]
            rescaling = [rescale for rescale, _ in self.clocks()[1:]]
            lines.append(
                f"  OneFlow: SequentialLR(milestones={milestones}, interval_rescaling={rescaling})"
            )
            for i, x in enumerate(s):
                stop = str(s[i + 1].start) if i + 1 < len(s) else "inf"
                clock = "" if x.offset in (0, x.start) else f"  (sees k - {x.offset})"
                lines.append(f"    [{x.start}, {stop})  {x.describe()}{clock}")
        for a in self.approximations:
            last = "inf" if a.last is None else str(a.last)
            lines.append(
                f"  approximated {a.path} ({a.node_type}) on [{a.first}, {last}) with "
                f"{plural(a.segments, 'LinearLR segment')}, max relative error "
                f"{a.max_error:.3g} "
                f"(tolerance {self.tolerance:g}): {a.reason}"
            )
        return "\n".join(lines)


def _holding(schedule: Schedule) -> Schedule:
    """The schedule with ``after = 'error'`` read as ``'hold'`` (a compiled graph cannot
    raise; the core's ops say such backends hold)."""

    def swap(data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: ("hold" if k == "after" and v == "error" else swap(v)) for k, v in data.items()
            }
        if isinstance(data, list):
            return [swap(v) for v in data]
        return data

    data = schedule.to_dict()
    swapped = swap(data)
    return schedule if swapped == data else from_dict(swapped)


def plan(
    schedule: Schedule,
    tolerance: float | None = None,
    path: str = "schedule",
    horizon: int | None = None,
) -> GraphPlan:
    """Plan ``schedule`` as OneFlow's Graph-mode schedulers.

    Raises :class:`NotLowerable` (naming the node and its ``path``) for a node without an
    exact equivalent, unless ``tolerance`` (a relative error, e.g. ``1e-3``) is given: then
    such nodes are approximated by LinearLR segments whose error, checked at every step,
    is at most ``tolerance``. With a finite ``horizon`` (the recipe's training steps) a
    tolerance always succeeds: where node by node planning still fails (a node that never
    becomes constant, a ramp above the base lr an anchored scheduler fixes), the whole
    schedule becomes the fewest LinearLR segments the greedy cut finds within the tolerance
    on steps ``[0, horizon]``, holding its value at ``horizon`` after it. A refusal offers
    ``tolerance=`` only where a tolerance would succeed.
    """
    if tolerance is not None and not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise ValueError(f"tolerance must be a relative error in (0, 1), got {tolerance!r}")
    schedule = _holding(schedule)
    try:
        return _plan(schedule, tolerance, path)
    except NotLowerable as err:
        if tolerance is not None and horizon is not None:
            return _over_horizon(schedule, tolerance, path, horizon, err)
        if tolerance is not None:
            raise
        works = horizon is not None and _horizon_fits(horizon)
        if not works:
            try:
                _plan(schedule, 0.5, path)  # is the refusal one a tolerance lifts?
                works = True
            except NotLowerable:
                works = False
        raise NotLowerable(err.path, err.node_type, err.reason, hint=works) from None


def _horizon_fits(horizon: int) -> bool:
    return 0 < horizon <= MAX_VERIFIED


def _over_horizon(
    schedule: Schedule, tolerance: float, path: str, horizon: int, err: NotLowerable
) -> GraphPlan:
    """The whole schedule as LinearLR segments on ``[0, horizon]`` (see :func:`plan`), for a
    schedule that node by node planning refused (``err``) even with the tolerance."""
    if not _horizon_fits(horizon):
        raise NotLowerable(
            err.path,
            err.node_type,
            f"{err.reason}; and approximating the whole schedule over its horizon of "
            f"{plural(horizon, 'step')} goes beyond the {MAX_VERIFIED} steps this planner "
            "verifies one by one",
            hint=False,
        )
    origin = Origin(Source(schedule), path, schedule.type_name)
    values = schedule(np.arange(horizon + 1, dtype=np.int64))
    top = float(values.max())
    if top > 0 and not top >= sys.float_info.min:
        raise NotLowerable(
            path, schedule.type_name, f"it peaks at {top:g} x the lr (a subnormal float64)",
            hint=False,
        )  # fmt: skip
    anchor = top if top > 0 else 1.0
    cuts, worst = greedy_segments(values, tolerance)
    pieces: Pieces = []
    for a, b in itertools.pairwise(cuts):
        first, last = float(values[a]), float(values[b])
        leaf: Leaf = (
            Const(origin, value=first)
            if first == last
            else Ramp(origin, first=first, last=last, steps=b - a)
        )
        pieces.append(Piece(a, leaf, a))
    pieces.append(Piece(horizon, Const(origin, value=float(values[-1])), horizon))
    pieces = merge(pieces)
    segments = len(cuts) - 1
    reason = f"over the training horizon, as {err.path} ({err.node_type}) {err.reason}"
    record = Approximation(path, schedule.type_name, reason, 0, horizon, segments, worst)
    text = (
        f"{APPROXIMATED}the whole schedule on [0, {horizon}] by "
        f"{plural(segments, 'LinearLR segment')}, max relative error {worst:.3g}: node by "
        f"node, {err.path} ({err.node_type}) {err.reason}"
    )
    schedulers = tuple(_scheduler(p, pieces, i, anchor) for i, p in enumerate(pieces))
    return GraphPlan(schedulers, anchor, (record,), ((path, schedule.type_name, text),), tolerance)


def _plan(schedule: Schedule, tolerance: float | None, path: str) -> GraphPlan:
    """Node by node: each node's rule, the base lr, approximations where allowed."""
    ctx = Context(tolerance)
    pieces = merge(node_pieces(schedule, path, ctx))
    unlowered = [p.leaf for p in pieces if isinstance(p.leaf, Approx)]
    if tolerance is None and unlowered:
        raise unlowered[0].error  # type: ignore[misc]
    used = {leaf.origin.path for leaf in unlowered}
    for i, (where, node_type, text) in enumerate(ctx.log):
        if text.startswith(APPROXIMATED) and where not in used:
            reason = text[len(APPROXIMATED) :]
            ctx.log[i] = (where, node_type, f"not lowered, never used (cut away): {reason}")
    pieces, anchor, approximations = _resolve(pieces, ctx)
    schedulers = tuple(_scheduler(p, pieces, i, anchor) for i, p in enumerate(pieces))
    return GraphPlan(schedulers, anchor, tuple(approximations), tuple(ctx.log), tolerance)


def plan_schedules(
    recipe: Recipe, names: Iterable[str] | None = None, tolerance: float | None = None
) -> dict[str, GraphPlan]:
    """The plan of each named recipe schedule (``"default"`` is ``recipe.schedule``; all of
    them when ``names`` is None), errors naming ``schedule`` or ``schedules.<name>``."""
    names = [DEFAULT_SCHEDULE, *recipe.schedules] if names is None else names
    horizon = recipe.training.steps if recipe.training is not None else None
    out = {}
    for name in names:
        path = "schedule" if name == DEFAULT_SCHEDULE else f"schedules.{name}"
        out[name] = plan(recipe.schedule_named(name), tolerance, path, horizon)
    return out


def explain(recipe: Recipe, tolerance: float | None = None) -> str:
    """What each node of each recipe schedule becomes in OneFlow's nn.Graph; for a bound
    recipe (``recipe.bind(table)``), which named groups follow each schedule, and only the
    schedules some group follows are planned (as :func:`graph_optimizers` plans them)."""
    followers: dict[str, list[str]] = {}
    names = [DEFAULT_SCHEDULE, *recipe.schedules]
    if recipe.resolution is not None:
        for g in recipe.resolution.groups:
            followers.setdefault(g.schedule, []).append(g.name)
    used_names = names if recipe.resolution is None else [n for n in names if n in followers]
    plans = plan_schedules(recipe, used_names, tolerance)
    lines = []
    for name in names:
        if name not in plans:
            lines.append(f"schedule {name!r} (no group follows it: not planned)")
            continue
        found = plans[name]
        state = "exact"
        if not found.exact:
            segments = sum(a.segments for a in found.approximations)
            state = (
                f"approximated, max error {found.max_error:.3g}, "
                f"{plural(segments, 'LinearLR segment')}"
            )
        used = ""
        if recipe.resolution is not None:
            used = f", groups {', '.join(followers[name])}"
        lines.append(f"schedule {name!r} ({state}{used}):")
        lines.append(found.explain())
    return "\n".join(lines)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= SAME * max(abs(a), abs(b))


def _resolve(pieces: Pieces, ctx: Context) -> tuple[Pieces, float, list[Approximation]]:
    """Fix the base lr (anchor), turn conflicting schedulers into approximations where a
    tolerance allows, and approximate."""
    ends = [p.start for p in pieces[1:]] + [None]
    anchored = [i for i, p in enumerate(pieces) if p.leaf.anchored]
    anchor: float | None = None
    fixer = None  # the anchored leaf whose start fixes the base lr
    if anchored:
        # an unbounded scheduler that never settles cannot be approximated: it decides
        fixed = [
            i
            for i in anchored
            if ends[i] is None and pieces[i].leaf.origin.source.constant_from is None
        ]
        # else the largest start: the others, approximated, must stay below it
        decider = fixed[0] if fixed else max(anchored, key=lambda i: pieces[i].leaf.start)
        fixer = pieces[decider].leaf
        anchor = fixer.start
        if not anchor >= sys.float_info.min:  # 0, or a subnormal whose ratios overflow
            leaf = pieces[decider].leaf
            raise NotLowerable(
                leaf.origin.path,
                leaf.origin.node_type,
                f"its {leaf.kind} would start at {anchor:g} x the lr (scale factors that "
                "underflow float64); OneFlow's schedulers scale the optimizer's base lr, "
                "which must be a positive normal number",
                hint=False,
            )
        for i in anchored:
            leaf = pieces[i].leaf
            if _same(leaf.start, anchor):
                continue
            if ctx.tolerance is None or i in fixed:
                other = pieces[decider].leaf
                raise NotLowerable(
                    leaf.origin.path,
                    leaf.origin.node_type,
                    f"its {leaf.kind} would start at {leaf.start:g} x the lr, but OneFlow's "
                    f"{leaf.kind} starts at the optimizer's base lr, which "
                    f"{other.origin.path} ({other.kind}) fixes at {anchor:g} x the lr; one "
                    "optimizer has one base lr",
                    hint=i not in fixed,
                )
            reason = f"its {leaf.kind} would start at {leaf.start:g}, not at the base lr {anchor:g}"
            ctx.note(leaf.origin.path, leaf.origin.node_type, APPROXIMATED + reason)
            pieces[i] = dataclasses.replace(pieces[i], leaf=Approx(leaf.origin, reason=reason))
    out: Pieces = []
    approximations = []
    for i, p in enumerate(pieces):
        if isinstance(p.leaf, Approx):
            segments, record = approximate(p, ends[i], ctx.tolerance, anchor)
            out.extend(segments)
            approximations.append(record)
        else:
            out.append(p)
    out = merge(out)
    if anchor is None:
        top = max((p.leaf.top() for p in out), default=0.0)
        anchor = top if top > 0 else 1.0
    for p in out:
        leaf = p.leaf
        if isinstance(leaf, Ramp) and leaf.top() > anchor * (1 + SAME):
            if fixer is None:
                raise NotLowerable(
                    leaf.origin.path,
                    leaf.origin.node_type,
                    f"its LinearLR reaches {leaf.top():g} x the lr, above the optimizer's base "
                    f"lr ({anchor:g} x the lr); LinearLR factors must be in [0, 1]",
                    hint=False,
                )
            # the cause is the anchored scheduler that fixes the base lr below the ramp
            raise NotLowerable(
                fixer.origin.path,
                fixer.origin.node_type,
                f"its {fixer.kind} starts at the optimizer's base lr, so it fixes that at "
                f"{anchor:g} x the lr; but {leaf.origin.path} ({leaf.origin.node_type}) then "
                f"ramps with LinearLR to {leaf.top():g} x the lr, above it, and LinearLR "
                "factors must be in [0, 1]",
                hint=False,
            )
    return out, anchor, approximations


def _scheduler(p: Piece, pieces: Pieces, i: int, anchor: float) -> Scheduler:
    leaf = p.leaf
    settings = leaf.settings(anchor)
    kind = leaf.kind
    offset = p.offset
    if isinstance(leaf, Const):
        offset = p.start  # a constant ignores its clock
        if "factor" in settings:
            stop = pieces[i + 1].start if i + 1 < len(pieces) else None
            settings["total_iters"] = FOREVER if stop is None else stop - p.start
        else:
            kind = "MultiStepLR"
    return Scheduler(p.start, offset, kind, settings, leaf.origin.path)
