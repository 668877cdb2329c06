"""Lowering to OneFlow's Graph-mode schedulers: every lowerable node type lowers exactly (run in
nn.Graph, to float32 precision, past the end too); every other type raises NotLowerable naming
its path; tolerances approximate, within the tolerance, with as few segments as possible.

No option is silently ignored: every node the shared strategy draws either raises
NotLowerable or lowers to schedulers whose Graph conf, evaluated by a model of OneFlow's
kernel (``kernel_model.py``, checked against nn.Graph on the fixed cases), gives the core's
values; fixed cases pin each option's branch (cosine restarts, polynomial stretch, sgdr
cycle_index, SequentialLR clocks) in nn.Graph.

Graphs run in worker processes (``graph_worker.py``). Several cases share one graph: each is
a named schedule of one recipe, followed by its own parameter, so each gets its own optimizer.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as hs
from kernel_model import applied

import schedcore as sc
import schedcore_oneflow as so
from schedcore import NODE_TYPES
from schedcore_oneflow.lowering import greedy_segments
from strategies import key_steps, node_dicts

FLOAT32_RTOL = 1e-6
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).tiny)

LIN = {"type": "linear", "steps": 20, "start": 1.0, "end": 0.1}
COS = {"type": "cosine", "steps": 30, "start": 1.0, "end": 0.05}

# At least one exactly-lowerable case per lowerable type (more where the lowering branches).
EXACT: dict[str, list[dict]] = {
    "constant": [{"type": "constant", "value": 0.3}],
    "linear": [LIN, {"type": "linear", "steps": 7, "start": 0.0, "end": 2.0, "after": "error"}],
    "cosine": [
        COS,
        {"type": "cosine", "steps": 10, "start": 0.2, "end": 1.0},  # rising: alpha > 1
        {"type": "cosine", "steps": 8, "start": 1.0, "end": 0.1, "after": "periodic"},
        {"type": "cosine", "steps": 12, "start": 1.0, "end": 0.0, "cycles": 1.5},
        # hard restarts: 3 descents of 10 steps; 1.5 descents of 20; rising ones of 8, repeated
        {"type": "cosine", "steps": 30, "end": 0.1, "cycles": 1.5, "restarts": True},
        {"type": "cosine", "steps": 30, "end": 0.1, "cycles": 0.75, "restarts": True},
        {
            "type": "cosine",
            "steps": 16,
            "start": 0.5,
            "end": 1.0,
            "restarts": True,
            "cycles": 1.0,
            "after": "periodic",
        },
    ],
    "polynomial": [
        {"type": "polynomial", "steps": 15, "start": 1.0, "end": 0.1, "power": 2.0},
        {"type": "polynomial", "steps": 9, "start": 0.5, "end": 1.0, "power": 0.5},
        # Keras' stretching decay: OneFlow's cycle=True, but for step 0
        {"type": "polynomial", "steps": 6, "end": 0.1, "power": 2.0, "after": "stretch"},
    ],
    "geometric": [
        {"type": "geometric", "steps": 10, "start": 1.0, "end": 0.01},
        {"type": "geometric", "steps": 6, "start": 0.1, "end": 1.0},
    ],
    "exponential": [
        {"type": "exponential", "rate": 0.9},
        {"type": "exponential", "rate": 0.5, "every": 3, "start": 2.0},
        {"type": "exponential", "rate": 0.5, "every": 4, "staircase": True},
    ],
    "step": [{"type": "step", "every": 5, "gamma": 0.5}],
    "multistep": [
        {"type": "multistep", "milestones": [3, 8], "gamma": 0.5},
        {"type": "multistep", "milestones": [0, 4, 4, 10], "gamma": 2.0},
    ],
    "piecewise_constant": [
        {"type": "piecewise_constant", "boundaries": [0, 5, 9], "values": [1, 0.5, 0.2, 2.0]},
        {"type": "piecewise_constant", "boundaries": [3], "values": [1, 0.1], "change": "after"},
    ],
    "piecewise_interpolate": [
        {"type": "piecewise_interpolate", "steps": [2, 6, 20], "values": [0.0, 1.0, 0.25]},
        {
            "type": "piecewise_interpolate",
            "steps": [0, 16],
            "values": [1.0, 0.1],
            "interpolation": "cosine",
        },
    ],
    "sgdr": [
        {"type": "sgdr", "period": 6, "m_mul": 0.5, "end": 0.1, "cycle_limit": 3},
        {"type": "sgdr", "period": 40, "t_mul": 2.0, "start": 2.0},
        {"type": "sgdr", "period": 3, "t_mul": 2.0, "cycle_limit": 4, "cycle_index": "log"},
        {"type": "sgdr", "period": 4, "m_mul": 0.8, "m_mul_applies_to": "range"},
        # with t_mul 1, 'log' changes nothing (cycles by integer division)
        {"type": "sgdr", "period": 5, "end": 0.2, "cycle_index": "log"},
    ],
    "warmup": [
        {"type": "warmup", "steps": 10, "schedule": COS},
        {
            "type": "warmup",
            "steps": 5,
            "prefix": False,
            "start_factor": 0.1,
            "schedule": {"type": "exponential", "rate": 0.8, "every": 2},
        },
        {"type": "warmup", "steps": 4, "shape": "constant", "start_factor": 0.25, "schedule": LIN},
    ],
    "wsd": [
        {"type": "wsd", "warmup": 5, "stable": 10, "decay": 20},
        {"type": "wsd", "warmup": 3, "stable": 4, "decay": 12, "decay_shape": "cosine", "end": 0.1},
    ],
    "sequence": [
        {"type": "sequence", "phases": [{"schedule": LIN}, {"schedule": COS, "clock": "global"}]},
        # a global phase over a local sequence: a scheduler that sees k - 5 from step 10
        {
            "type": "sequence",
            "phases": [
                {"schedule": {"type": "constant", "value": 0.5}, "steps": 10},
                {
                    "clock": "global",
                    "schedule": {
                        "type": "sequence",
                        "phases": [
                            {"schedule": {"type": "linear", "steps": 5, "start": 0.0}},
                            {"schedule": COS},
                        ],
                    },
                },
            ],
        },
        # a global phase after local ones: SequentialLR's clock stays at the last rescaled
        # milestone, so the phase at 10 must not rescale (it nests), or the last sees k - 10
        {
            "type": "sequence",
            "phases": [
                {"schedule": LIN, "steps": 10},
                {"schedule": COS, "steps": 20},
                {"schedule": {"type": "step", "every": 7, "gamma": 0.5}, "clock": "global"},
            ],
        },
        # ... and a scheduler that relies on it: COS sees k - 10 from step 15
        {
            "type": "sequence",
            "phases": [
                {"schedule": LIN, "steps": 10},
                {
                    "schedule": {
                        "type": "sequence",
                        "phases": [
                            {"schedule": {"type": "constant", "value": 0.5}, "steps": 5},
                            {"schedule": COS, "clock": "global"},
                        ],
                    }
                },
            ],
        },
    ],
    "scale": [{"type": "scale", "factor": 0.5, "schedule": COS}],
    "product": [
        {"type": "product", "schedules": [{"type": "constant", "value": 2.0}, LIN]},
    ],
    "clamp": [
        {
            "type": "clamp",
            "min": 0.3,
            "max": 0.9,
            "schedule": {
                "type": "piecewise_constant",
                "boundaries": [4, 8],
                "values": [1.0, 0.5, 0.1],
            },
        },
        {"type": "clamp", "max": 5.0, "schedule": COS},
    ],
    "shift": [
        {"type": "shift", "offset": -6, "schedule": COS},
        {
            "type": "shift",
            "offset": 3,
            "schedule": {
                "type": "piecewise_constant",
                "boundaries": [5, 9],
                "values": [1.0, 0.5, 0.2],
            },
        },
    ],
    "per_epoch": [
        {"type": "per_epoch", "steps_per_epoch": 3, "schedule": {"type": "step", "every": 2}},
        {
            "type": "per_epoch",
            "steps_per_epoch": 4,
            "schedule": {"type": "exponential", "rate": 0.7},
        },
        {
            "type": "per_epoch",
            "steps_per_epoch": 5,
            "schedule": {"type": "multistep", "milestones": [1, 3]},
        },
    ],
}

# One case per non-lowerable type, nested so that the error must name a deep path.
NOT_LOWERABLE: dict[str, dict] = {
    "one_minus_sqrt": {"type": "one_minus_sqrt", "steps": 10},
    "inverse_sqrt": {"type": "inverse_sqrt", "timescale": 10},
    "inverse_time": {"type": "inverse_time", "rate": 0.5},
    "noam": {"type": "noam", "d_model": 512, "warmup": 10},
    "cyclic": {"type": "cyclic", "low": 0.1, "high": 1.0, "up": 5},
    "onecycle": {"type": "onecycle", "steps": 50},
    "repeat": {"type": "repeat", "period": 7, "schedule": LIN},
}


def test_every_node_type_is_classified():
    assert set(so.LOWERABLE) | set(so.NOT_LOWERABLE) == set(NODE_TYPES)
    assert not set(so.LOWERABLE) & set(so.NOT_LOWERABLE)
    assert set(EXACT) == set(so.LOWERABLE)
    assert set(NOT_LOWERABLE) == set(so.NOT_LOWERABLE)


def recipe_of(cases: list[dict]) -> tuple[dict, list[str]]:
    """A recipe whose i-th parameter follows ``cases[i]`` (at its own lr)."""
    rules = [
        {"name": f"g{i}", "match": {"name": [f"p{i}"]}, "schedule": f"s{i}", "lr": 0.05 * (i + 1)}
        for i in range(len(cases))
    ]
    doc = {
        "lr": 0.1,
        "schedules": {f"s{i}": case for i, case in enumerate(cases)},
        "groups": {"defaults": {}, "rules": rules},
    }
    return doc, [f"p{i}" for i in range(len(cases))]


def holding(data):
    """``data`` with after = 'error' read as 'hold', as a compiled graph (which cannot raise)
    runs it."""
    if isinstance(data, dict):
        return {k: "hold" if k == "after" and v == "error" else holding(v) for k, v in data.items()}
    if isinstance(data, list):
        return [holding(v) for v in data]
    return data


def test_after_error_lowers_as_hold():
    case = EXACT["linear"][1]
    assert case["after"] == "error"
    assert so.lower(sc.from_dict(case)).key() == so.lower(sc.from_dict(holding(case))).key()


def check_graph(graph_worker, doc, rows, first, count, tolerance=None):
    reply = graph_worker.measure(doc, rows, first, count, tolerance)
    assert reply["ok"], reply["message"]
    recipe = sc.load(holding(doc)).bind(rows)
    expected = recipe.lr(np.arange(first, first + count))
    got = np.asarray(reply["applied"]).reshape(expected.shape)
    rtol = reply["max_error"] + FLOAT32_RTOL
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=FLOAT32_ATOL)
    return reply


@pytest.mark.parametrize("type_name", sorted(EXACT))
def test_lowerable_type_lowers_exactly_in_graph(graph_worker, type_name):
    cases = EXACT[type_name]
    for i, case in enumerate(cases):
        lowering = so.lower(sc.from_dict(case))
        assert lowering.exact, (i, lowering.explain())
        assert type_name in lowering.explain()
    doc, rows = recipe_of(cases)
    lengths = [sc.from_dict(c).length or 30 for c in cases]
    span = min(max(lengths) + 12, 120)
    reply = check_graph(graph_worker, doc, rows, 0, span)  # start, the end, and past it
    assert reply["exact"] and reply["max_error"] == 0
    check_graph(graph_worker, doc, rows, 10**6 + 7, 5)  # far past the end


MODEL_RTOL = 1e-9
MODEL_ATOL = 1e-12  # times the schedule's peak: both sides' rounding, at values far below it
MODEL_FAR = 10**7  # the kernel's cos(pi * j / T) of a periodic cosine loses digits far out


def check_model(schedule: sc.Schedule, lowering: so.Lowering, extra: list[int] = ()) -> None:
    """The lr the kernel model applies equals the core's at the first steps, around every
    boundary of the tree and of the plan, and at ``extra``: to ``MODEL_RTOL`` (plus the
    tolerance of an approximation), or ``MODEL_ATOL`` of the peak where values are far below
    it (there both formulas round off: ``end + (start - end) * 1`` is not quite ``end``)."""
    length = schedule.length or 0
    steps = set(range(min(2 * length + 16, 2_000))) | set(key_steps(schedule)) | set(extra)
    for s in lowering.schedulers:
        steps |= {s.start - 1, s.start, s.start + 1}
    steps = np.array(sorted(k for k in steps if 0 <= k <= MODEL_FAR), dtype=np.int64)
    np.testing.assert_allclose(
        applied(lowering, steps),
        schedule(steps),
        rtol=lowering.max_error + MODEL_RTOL,
        atol=max(MODEL_ATOL * schedule.peak(), FLOAT32_ATOL),
        err_msg=lowering.explain(),
    )


def test_the_kernel_model_agrees_with_the_core_on_every_exact_case():
    for cases in EXACT.values():
        for case in cases:
            schedule = sc.from_dict(holding(case))
            check_model(schedule, so.lower(schedule), [10**6 + 7])


@pytest.mark.parametrize("type_name", sorted(so.LOWERABLE))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data(), far=hs.lists(hs.integers(0, MODEL_FAR), max_size=4))
def test_every_option_lowers_exactly_or_raises(type_name, data, far):
    """No option is silently ignored: every node of every lowerable type, with every option
    the shared strategy draws, lowers to schedulers that apply the core's values (in the
    kernel model), exactly or within a tolerance, or raises NotLowerable."""
    schedule = sc.from_dict(data.draw(node_dicts(type_name)))
    for tolerance in (None, 1e-3):
        try:
            lowering = so.lower(schedule, tolerance)
        except so.NotLowerable:
            continue
        event(f"{type_name}: {'exact' if tolerance is None else 'approximated'}")
        check_model(schedule, lowering, far)
        return
    event(f"{type_name}: not lowerable")


def test_cases_cover_each_lowering_branch():
    """Every case names a distinct scheduler layout (no two cases test the same thing)."""
    for type_name, cases in EXACT.items():
        layouts = [so.lower(sc.from_dict(c)).key() for c in cases]
        assert len(set(layouts)) == len(layouts), type_name


@pytest.mark.parametrize("type_name", sorted(NOT_LOWERABLE))
def test_non_lowerable_type_raises_with_its_path(type_name):
    scaled = {"type": "scale", "factor": 0.5, "schedule": NOT_LOWERABLE[type_name]}
    schedule = sc.from_dict(
        {"type": "sequence", "phases": [{"schedule": LIN}, {"schedule": scaled}]}
    )
    with pytest.raises(so.NotLowerable) as info:
        so.lower(schedule)
    err = info.value
    assert err.path == "schedule.phases[1].schedule.schedule"
    assert err.node_type == type_name
    assert str(err).startswith(f"schedule.phases[1].schedule.schedule ({type_name}): ")
    assert "tolerance" in str(err)


@pytest.mark.parametrize(
    ("schedule", "path", "words"),
    [
        ({"type": "cosine", "steps": 10, "exponent": 2.0}, "schedule", "exponent 2"),
        ({"type": "cosine", "steps": 10, "start": 0.0, "end": 1.0}, "schedule", "rises from 0"),
        ({"type": "linear", "steps": 10, "after": "periodic"}, "schedule", "periodic"),
        ({"type": "sgdr", "period": 1, "t_mul": 3.0}, "schedule", "step 121 in cycle 4, not 5"),
        ({"type": "sgdr", "period": 10, "t_mul": 1.5}, "schedule", "integer T_mult"),
        (  # the core follows timm's float rounding, which puts step 121 in cycle 4
            {"type": "sgdr", "period": 1, "t_mul": 3.0, "cycle_index": "log"},
            "schedule",
            "cycle_index = 'log' rounds step 121 into another cycle",
        ),
        ({"type": "sgdr", "period": 1, "t_mul": 3000.0}, "schedule", "overflows"),
        ({"type": "sgdr", "period": 5, "k_decay": 2.0}, "schedule", "k_decay 2"),
        (
            {"type": "sgdr", "period": 5, "m_mul": 0.5, "end": 0.1, "m_mul_applies_to": "range"},
            "schedule",
            "m_mul shrinks the range",
        ),
        (
            {"type": "cosine", "steps": 25, "cycles": 1.5, "restarts": True},
            "schedule",
            "restarts every 8.33333 steps",
        ),
        (  # transformers' (2 * cycles) * (k / steps) is 1 ulp below 15 at k = 15
            {"type": "cosine", "steps": 22, "cycles": 11.0, "end": 0.1, "restarts": True},
            "schedule",
            "step 15 ends a descent instead of restarting",
        ),
        (
            {"type": "cosine", "steps": 30, "cycles": 0.75, "restarts": True, "after": "periodic"},
            "schedule",
            "part-way through a descent of 20 steps",
        ),
        (
            {"type": "cosine", "steps": 10, "start": 0.0, "end": 1.0, "restarts": True},
            "schedule",
            "restarts at 0",
        ),
        (
            {"type": "polynomial", "steps": 10, "after": "periodic"},
            "schedule",
            "after = 'periodic'",
        ),
        (
            {"type": "polynomial", "steps": 10, "start": 0.0, "end": 1.0, "after": "stretch"},
            "schedule",
            "rises from 0",
        ),
        ({"type": "linear", "steps": 2**24 + 1}, "schedule", "float32"),
        (
            {"type": "warmup", "steps": 5, "shape": "cosine", "schedule": COS},
            "schedule (expanded: phases[0].schedule)",
            "rises from 0",
        ),
        (
            {"type": "product", "schedules": [LIN, COS]},
            "schedule",
            "multiplies 2 varying schedules",
        ),
        ({"type": "clamp", "min": 0.5, "schedule": COS}, "schedule", "clamps a varying"),
        ({"type": "shift", "offset": 4, "schedule": COS}, "schedule", "looks 4 steps ahead"),
        ({"type": "per_epoch", "steps_per_epoch": 3, "schedule": COS}, "schedule", "staircase"),
        (  # two cosines starting at different values cannot share one base lr
            {
                "type": "sequence",
                "phases": [{"schedule": COS}, {"schedule": {**COS, "start": 0.5}}],
            },
            "schedule.phases[1].schedule",
            "fixes at 1 x the lr",
        ),
        (  # a LinearLR above the base lr that a cosine fixes
            {
                "type": "sequence",
                "phases": [{"schedule": {**LIN, "start": 2.0}}, {"schedule": COS}],
            },
            "schedule.phases[0].schedule",
            "LinearLR factors must be in [0, 1]",
        ),
    ],
)
def test_conditions_of_lowerable_types_raise_with_their_path(schedule, path, words):
    with pytest.raises(so.NotLowerable) as info:
        so.lower(sc.from_dict(schedule))
    assert info.value.path == path, str(info.value)
    assert words in str(info.value)


def test_errors_in_named_schedules_name_them():
    recipe = sc.load({"lr": 0.1, "schedules": {"head": NOT_LOWERABLE["noam"]}})
    with pytest.raises(so.NotLowerable, match=r"^schedules\.head \(noam\): "):
        so.explain_lowering(recipe)


APPROXIMATED = [
    {"type": "onecycle", "steps": 40},
    {"type": "wsd", "warmup": 4, "stable": 6, "decay": 20, "decay_shape": "1-sqrt"},
    {"type": "cosine", "steps": 25, "exponent": 2.0, "end": 0.1},
    {"type": "warmup", "steps": 8, "shape": "cosine", "schedule": COS},
    {"type": "sequence", "phases": [  # unbounded but bounded here by its phase
        {"schedule": {"type": "inverse_sqrt", "timescale": 5}, "steps": 30},
        {"schedule": {"type": "constant", "value": 0.2}}]},
    {"type": "sequence", "phases": [{"schedule": COS}, {"schedule": {**COS, "start": 0.5}}]},
    {"type": "clamp", "min": 0.4, "schedule": COS},
    {"type": "cosine", "steps": 22, "cycles": 11.0, "end": 0.1, "restarts": True},
]  # fmt: skip


@pytest.mark.parametrize("tolerance", [1e-2, 1e-4])
def test_tolerance_approximates_within_it_in_graph(graph_worker, tolerance):
    for case in APPROXIMATED:
        lowering = so.lower(sc.from_dict(case), tolerance)
        assert not lowering.exact and 0 <= lowering.max_error <= tolerance
        assert "approximated" in lowering.explain()
        assert all(s.kind in ("LinearLR", "ConstantLR", "CosineDecayLR") for s in
                   lowering.schedulers)  # fmt: skip
    doc, rows = recipe_of(APPROXIMATED)
    reply = check_graph(graph_worker, doc, rows, 0, 72, tolerance)
    assert not reply["exact"] and 0 < reply["max_error"] <= tolerance
    check_graph(graph_worker, doc, rows, 5_000, 3, tolerance)


def test_a_node_cut_away_needs_no_lowering():
    """A global phase starts after the non-lowerable part of its schedule: the lowering is
    exact, with or without a tolerance, and says the node was never used."""
    inner = {
        "type": "sequence",
        "phases": [
            {"schedule": {"type": "inverse_sqrt", "timescale": 5}, "steps": 50},
            {"schedule": COS, "clock": "global"},
        ],
    }
    schedule = sc.from_dict(
        {
            "type": "sequence",
            "phases": [
                {"schedule": {"type": "constant", "value": 0.5}, "steps": 60},
                {"schedule": inner, "clock": "global"},
            ],
        }
    )
    exact, tolerant = so.lower(schedule), so.lower(schedule, tolerance=1e-3)
    assert exact.exact and tolerant.exact and exact.key() == tolerant.key()
    assert "inverse_sqrt           not lowered, never used (cut away)" in exact.explain()
    check_model(schedule, exact)


def test_a_tighter_tolerance_needs_more_segments():
    counts = [len(so.lower(sc.onecycle(steps=200), t).schedulers) for t in (1e-1, 1e-2, 1e-3, 1e-4)]
    assert counts == sorted(counts) and counts[0] < counts[-1]


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "inverse_sqrt", "timescale": 10},
        {"type": "repeat", "period": 7, "schedule": LIN},
        {"type": "cyclic", "low": 0.1, "high": 1.0, "up": 5},
    ],
)
def test_a_tail_that_never_settles_cannot_be_approximated(schedule):
    with pytest.raises(so.NotLowerable, match="never becomes constant") as info:
        so.lower(sc.from_dict(schedule), tolerance=0.1)
    assert info.value.path == "schedule" and "pass tolerance" not in str(info.value)


def test_tolerance_is_validated():
    for bad in (0, -1e-3, 1.5, "1e-3"):
        with pytest.raises(ValueError, match="tolerance must be a relative error in"):
            so.lower(sc.from_dict(COS), tolerance=bad)


def fewest_segments(values: np.ndarray, tolerance: float) -> int:
    """The true minimum number of chords (dynamic programming over every cut)."""
    n = len(values) - 1

    def ok(s: int, e: int) -> bool:
        j = np.arange(e - s)
        approx = values[s] + (values[e] - values[s]) * (j / (e - s))
        return bool(np.all(np.abs(approx - values[s:e]) <= tolerance * np.abs(values[s:e])))

    best = [0] + [math.inf] * n
    for e in range(1, n + 1):
        best[e] = min(best[s] + 1 for s in range(e) if ok(s, e))
    return int(best[n])


@settings(max_examples=60, deadline=None)
@given(
    shape=hs.sampled_from(["geometric", "polynomial", "one_minus_sqrt"]),
    steps=hs.integers(2, 50),
    start=hs.floats(0.05, 2.0),
    end=hs.floats(0.05, 2.0),
    tolerance=hs.sampled_from([1e-1, 1e-2, 1e-3]),
)
def test_greedy_segments_are_verified_and_fewest(shape, steps, start, end, tolerance):
    kwargs = {"steps": steps, "start": start, "end": end}
    if shape == "polynomial":
        kwargs["power"] = 2.0
    values = sc.from_dict({"type": shape, **kwargs})(np.arange(steps + 1))
    cuts, worst = greedy_segments(values, tolerance)
    assert cuts[0] == 0 and cuts[-1] == steps and worst <= tolerance
    for s, e in itertools.pairwise(cuts):
        j = np.arange(e - s)
        approx = values[s] + (values[e] - values[s]) * (j / (e - s))
        assert np.all(np.abs(approx - values[s:e]) <= tolerance * np.abs(values[s:e]))
    # each of these curves is convex or concave, so a chord that fits fits on every sub-range:
    # then the longest chord at each cut (which galloping and bisection find) is the fewest
    assert len(cuts) - 1 == fewest_segments(values, tolerance)


def test_restarts_of_warm_restarts_land_where_the_core_puts_them(graph_worker):
    """CosineAnnealingWarmRestarts with T_mult = 2 finds cycles with floor(log(...)); the
    lowering checked every restart up to 2**53; the Graph agrees at restarts far out."""
    case = {"type": "sgdr", "period": 40, "t_mul": 2.0, "m_mul": 0.9, "end": 0.01}
    assert so.lower(sc.from_dict(case)).schedulers[0].kind == "CosineAnnealingWarmRestarts"
    doc, rows = recipe_of([case])
    for cycle in (1, 6, 20, 35):
        restart = 40 * (2**cycle - 1)
        check_graph(graph_worker, doc, rows, restart - 2, 4)


def test_shapes_share_optimizers_and_scales_become_lr_scale(graph_worker):
    warm = {"type": "warmup", "steps": 5, "schedule": COS}
    doc = {
        "lr": 0.1,
        "schedule": warm,
        "schedules": {
            "half": {"type": "scale", "factor": 0.5, "schedule": warm},  # same shape
            "other": LIN,  # another shape
        },
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "rules": [
                {"name": "h", "match": {"prefix": "head."}, "lr": 0.4, "schedule": "half"},
                {"name": "o", "match": {"prefix": "other."}, "schedule": "other"},
                {"name": "nd", "match": {"tags": ["bias"]}, "weight_decay": 0.0},
            ],
        },
    }
    rows = [
        {"name": "body.weight"},
        {"name": "body.bias", "tags": ["bias"]},
        {"name": "head.weight"},
        {"name": "other.weight"},
    ]
    reply = check_graph(graph_worker, doc, rows, 0, 40)
    groups = sorted(sorted(g) for g in reply["optimizers"])
    assert groups == [[["body.bias"], ["body.weight"], ["head.weight"]], [["other.weight"]]]
    i = next(i for i, o in enumerate(reply["optimizers"]) if ["head.weight"] in o)
    scales = dict(zip(map(tuple, reply["optimizers"][i]), reply["lr_scales"][i], strict=True))
    # head: 0.4 * 0.5 = 0.2 is the largest peak, so the base lr; body 0.1: half of it
    assert reply["base_lrs"][i] == pytest.approx(0.2)
    assert scales[("head.weight",)] == pytest.approx(1.0)
    assert scales[("body.weight",)] == pytest.approx(0.5)
    assert reply["kinds"][i] == "SequentialLR"


def test_explain_lowering_shows_each_node_and_the_schedulers():
    from schedcore.examples import BERT_RECIPE

    text = so.explain_lowering(sc.load(BERT_RECIPE))
    assert "schedule 'default' (exact)" in text
    assert "schedule.schedule" in text and "CosineDecayLR(decay_steps=1850" in text
    assert "SequentialLR(milestones=[100], interval_rescaling=[True])" in text
    assert "LinearLR(start_factor=0, end_factor=1, total_iters=100)" in text


def graph_conf(lr_scheduler) -> bytes:
    """The Graph conf OneFlow compiles a scheduler to (what nn.Graph runs)."""
    from oneflow.core.job.learning_rate_schedule_conf_pb2 import LearningRateDecayConf

    message = LearningRateDecayConf()
    lr_scheduler._generate_conf_for_graph(message)
    return message.SerializeToString()


def test_the_lowered_scheduler_compiles_to_the_hand_written_native_one():
    import oneflow as flow

    from schedcore.examples import BERT_RECIPE

    L = flow.optim.lr_scheduler
    recipe = sc.load(BERT_RECIPE)  # warmup 100, cosine to 0 over 1850 steps
    opt = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=recipe.base_lr)
    ours = so.build_scheduler(so.lower(recipe.schedule), opt, recipe.base_lr)
    opt2 = flow.optim.SGD([flow.nn.Parameter(flow.zeros(1))], lr=recipe.base_lr)
    warmup = L.LinearLR(opt2, start_factor=0.0, end_factor=1.0, total_iters=100)
    cosine = L.CosineDecayLR(opt2, decay_steps=1850, alpha=0.0)
    native = L.SequentialLR(opt2, [warmup, cosine], milestones=[100], interval_rescaling=[True])
    assert graph_conf(ours) == graph_conf(native)


def test_a_schedule_scaled_to_zero_raises_rather_than_divide_by_it():
    """Scale factors whose product underflows float64 make every value 0: OneFlow's
    schedulers scale a base lr, which cannot be 0 (found by the option test, derandomized)."""
    tiny = 2.2250738585072014e-308
    wsd = {"type": "wsd", "stable": 1, "decay": 1, "warmup": 0, "decay_shape": "cosine"}
    inner = {"type": "scale", "factor": tiny, "schedule": wsd}
    schedule = sc.from_dict({"type": "scale", "factor": tiny, "schedule": inner})
    for tolerance in (None, 1e-3):
        with pytest.raises(so.NotLowerable) as info:
            so.lower(schedule, tolerance)
        assert "positive normal number" in str(info.value)
