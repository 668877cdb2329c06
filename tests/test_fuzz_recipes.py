"""Fuzzing the recipe loader: thousands of mutated and garbage documents.

Every document either loads, and then its lr is finite and >= 0 at every probed step
(0 through 2**53), it round-trips through ``to_dict`` and binding it to a parameter table
raises nothing but :class:`schedcore.SpecError`; or loading raises a ``SpecError`` whose
message is non-empty and whose ``path`` names the offending field (``""`` only for a
whole-document problem: text that is not TOML/JSON, a missing file). Anything else (KeyError,
TypeError, ZeroDivisionError, RecursionError, OverflowError, a numpy RuntimeWarning, a NaN)
fails the test. numpy warnings are turned into errors around every check.

Sources: the bundled BERT example (TOML, as a dict and as text), recipes from
``strategies.recipes()``, and hand-written seeds naming every node type (one per type, in
its entry of the test catalog, ``tests/catalog``). Mutations are a
deterministic sweep (every path x every garbage value, deletions, unknown keys, type swaps)
plus hypothesis-driven random mutation chains.
"""

from __future__ import annotations

import copy
import dataclasses
import fractions
import json
import math
import os
import random
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schedcore
from catalog import seeds
from schedcore import NODE_TYPES, SpecError, StepRangeError
from schedcore.schedules.node import MAX_DEPTH
from strategies import MAX_STEP, NODE_STRATEGIES, recipes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = Path(schedcore.__file__).parent / "examples"
BERT_TEXT = (EXAMPLES / "bert_finetune.toml").read_text(encoding="utf-8")
BERT = tomllib.loads(BERT_TEXT)
BERT_TABLE = schedcore.ParamTable.load(EXAMPLES / "bert_lstm_params.csv")

PROBE_STEPS = (0, 1, 7, 99, 1_000, 65_536, 10**6, 2**31, MAX_STEP - 1, MAX_STEP)

# SCHEDCORE_FUZZ_SCALE multiplies the hypothesis example budgets, for a long local run
SCALE = int(os.environ.get("SCHEDCORE_FUZZ_SCALE", "1"))
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Path_ = tuple[Any, ...]

# -- garbage -------------------------------------------------------------------------------------

GARBAGE: list[Any] = [
    None, True, False,
    "", "abc", "10", "abc%", "-5%", "10%", "150%", "1e3", " 5 %", "nan", "inf", "error",
    [], [1, 2], [None], ["a", "b"], {}, {"type": "nope"}, {"type": "constant"},
    -1, 0, 1, 2, -0.0, 0.5, 1.5, -1e-9, -1e308,
    2**53, 2**53 + 1, 2**63, -(2**63), 10**400, 10**5000,
    1e308, 1e300, 1e100, 1e-300, 5e-324, math.nan, math.inf, -math.inf,
    # Python documents may hold more than TOML/JSON can say
    np.float64(math.nan), np.float32(3e38), np.int64(-1), np.int64(7), np.bool_(True),
    fractions.Fraction(10**400, 3), (1, 2), b"bytes",
]  # fmt: skip


def nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


#: garbage used sparingly (expensive or structural)
DEEP_GARBAGE = [nested_list(100_000), nested_dict(2_000)]


# -- the oracle ------------------------------------------------------------------------------------


def has_error_mode(data: Any) -> bool:
    """Whether a document asks for after = "error" anywhere (evaluation may then raise)."""
    if isinstance(data, dict):
        if data.get("after") == "error":
            return True
        return any(has_error_mode(v) for v in data.values())
    if isinstance(data, list):
        return any(has_error_mode(v) for v in data)
    return False


def parses(text: str) -> bool:
    """Whether ``text`` is a readable TOML or JSON object: then errors need a field path."""
    if "\n" not in text and not text.lstrip().startswith(("{", "[")):
        return False  # a file name
    try:
        if text.lstrip().startswith("{"):
            return isinstance(json.loads(text), dict)
        tomllib.loads(text)
        return True
    except (ValueError, RecursionError):
        return False


def check_spec_error(err: SpecError, whole_document_ok: bool, where: str) -> None:
    assert isinstance(err.path, str), where
    assert isinstance(err.problem, str) and err.problem.strip(), where
    assert str(err).strip(), where
    if not whole_document_ok:
        assert err.path, f"{where}: SpecError without a path: {err}"


def check_values(values: Any, where: str) -> None:
    values = np.asarray(values, dtype=np.float64)
    assert np.all(np.isfinite(values)), f"{where}: non-finite lr {values}"
    assert np.all(values >= 0), f"{where}: negative lr {values}"


def check(source: Any, table: Any = None, where: str = "") -> str:
    """Load ``source`` (a dict or text) and check the contract; returns 'loaded'/'rejected'.

    Any exception but SpecError (and StepRangeError from evaluating an after = "error"
    schedule) propagates, as does a numpy warning (turned into an error here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            try:
                return _check(source, table, where)
            except AssertionError:
                raise
            except Exception as err:
                raise AssertionError(
                    f"{where}: {type(err).__name__}: {str(err)[:300]}\ndocument: {_short(source)}"
                ) from err


def _short(source: Any) -> str:
    try:
        text = repr(source)
    except (RecursionError, ValueError):
        text = f"<unprintable {type(source).__name__}>"
    return text[:600]


def _check(source: Any, table: Any, where: str) -> str:
    text_input = isinstance(source, str)
    try:
        recipe = schedcore.load(source)
    except SpecError as err:
        check_spec_error(err, text_input and not parses(source), where)
        return "rejected"
    error_mode = has_error_mode(recipe.to_dict())
    steps = np.array(PROBE_STEPS, dtype=np.int64)
    try:
        vector = recipe.lr(steps)
    except StepRangeError:
        assert error_mode, f"{where}: StepRangeError without after = 'error'"
    else:
        check_values(vector, where)
        assert vector.shape == steps.shape
        for k, v in zip(PROBE_STEPS, vector, strict=True):
            assert recipe.lr(k) == v, f"{where}: scalar and vector lr differ at {k}"
    # every named schedule, too (a bound recipe evaluates those its groups follow)
    for name, schedule in recipe.schedules.items():
        try:
            values = recipe.base_lr * schedule(steps)
        except StepRangeError:
            assert error_mode, f"{where}: StepRangeError without after = 'error'"
        else:
            check_values(values, f"{where} (schedule {name!r})")
    # the normalized document loads back to the same recipe
    again = schedcore.load(recipe.to_dict())
    assert again == recipe, f"{where}: to_dict does not round-trip"
    assert again.to_dict() == recipe.to_dict(), where
    if table is not None:
        try:
            bound = recipe.bind(table)
        except SpecError as err:
            check_spec_error(err, False, where)
        else:
            try:
                rows = bound.lr(steps)
            except StepRangeError:
                assert error_mode, where
            else:
                assert rows.shape == (len(bound.groups), steps.shape[0]), where
                check_values(rows, where)
    return "loaded"


# -- mutations -------------------------------------------------------------------------------------


def walk(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below the root, depth first."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key), value
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*path, i), value
            yield from walk(value, (*path, i))


def replace(data: Any, path: Path_, value: Any) -> Any:
    """A copy of ``data`` with the item at ``path`` replaced (copies only along the path)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    out = dict(data) if isinstance(data, dict) else list(data)
    out[head] = replace(data[head], rest, value) if rest else value
    return out


def delete(data: Any, path: Path_) -> Any:
    head, rest = path[0], path[1:]
    out = dict(data) if isinstance(data, dict) else list(data)
    if rest:
        out[head] = delete(data[head], rest)
    else:
        del out[head]
    return out


def mutations(doc: dict[str, Any], values: list[Any] | None = None) -> Iterator[tuple[str, Any]]:
    """Deterministic single mutations of ``doc``: every path set to every garbage value,
    deleted, emptied; unknown keys added to every table; node types swapped."""
    values = GARBAGE if values is None else values
    for path, old in list(walk(doc)):
        for value in values:
            yield f"{path} = {_short(value)[:40]}", replace(doc, path, value)
        yield f"del {path}", delete(doc, path)
        if isinstance(old, dict):
            yield f"{path} + unknown key", replace(doc, path, {**old, "bogus_key": 1})
            yield f"{path} emptied", replace(doc, path, {})
        if isinstance(old, list):
            yield f"{path} = []", replace(doc, path, [])
            yield f"{path} reversed", replace(doc, path, old[::-1])
            yield f"{path} doubled", replace(doc, path, old + old)
            yield f"{path} wrapped", replace(doc, path, [old])
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            for factor in (-1, 0, 1e300, 1e-300):
                yield f"{path} *= {factor}", replace(doc, path, old * factor)
            yield f"{path} as string", replace(doc, path, str(old))
        if isinstance(old, dict) and old.get("type") in NODE_TYPES:
            # fields the document leaves at their defaults get garbage too
            for f in dataclasses.fields(NODE_TYPES[old["type"]]):
                if "kind" in f.metadata and f.name not in old:
                    for value in values:
                        yield (
                            f"{path}.{f.name} = {_short(value)[:40]}",
                            replace(doc, (*path, f.name), value),
                        )
        if path[-1] == "type":
            for other in [*sorted(NODE_TYPES), "Cosine", "cosine ", "", "product"]:
                yield f"{path} = {other!r}", replace(doc, path, other)
    yield "root + unknown key", {**doc, "bogus": 1}
    yield "root emptied", {}


def sweep(doc: dict[str, Any], table: Any, values: list[Any] | None = None) -> dict[str, int]:
    frozen = copy.deepcopy(doc)
    counts = {"loaded": 0, "rejected": 0}
    for where, mutated in mutations(doc, values):
        counts[check(mutated, table, where)] += 1
    assert doc == frozen, "loading mutated the caller's document"
    return counts


# -- seeds -----------------------------------------------------------------------------------------


def every_node_trees() -> dict[str, dict[str, Any]]:
    """One hand-written schedule tree per node type (deterministic seeds): each type's seed
    lives in its entry of the test catalog (tests/catalog)."""
    return seeds()


NODE_SEEDS = every_node_trees()


def every_node_seed() -> dict[str, Any]:
    """A recipe whose named schedules use every node type, with a full group policy."""
    return {
        "version": 1,
        "lr": 0.1,
        "training": {"total_steps": 1000},
        "schedule": {"warmup": "10%", "decay": "wsd", "cooldown": "20%", "min_lr": 1e-4},
        "schedules": {name.replace("_", "-"): tree for name, tree in NODE_SEEDS.items()},
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "layers": {"pattern": r"encoder\.layer\.(\d+)\.", "offset": 1,
                       "ids": {"bert.embeddings.*": 0}},
            "rules": [
                {"name": "head", "match": {"prefix": ["lstm.", "linear_layer."]},
                 "lr": 1e-2, "schedule": "sgdr", "priority": 1},
                {"name": "decay", "match": {"layers": [0, 99]}, "layer_decay": 0.9},
                {"name": "no_decay", "match": {"contains": ["bias", "LayerNorm"]},
                 "wd_scale": 0.0},
                {"name": "frozen", "match": {"glob": "nothing.*"}, "frozen": True,
                 "optional": True},
            ],
        },
    }  # fmt: skip


SEEDS = {
    "bert": BERT,
    "every_node": every_node_seed(),
    # the policy of every_node with one named schedule: cheap enough to sweep in full
    "policy": {**every_node_seed(), "schedules": {"sgdr": NODE_SEEDS["sgdr"]}},
}


def test_every_node_type_has_a_seed():
    assert set(NODE_SEEDS) == set(NODE_TYPES), "add a seed tree for the new node type"


def test_seeds_are_valid():
    for name, seed in SEEDS.items():
        assert check(seed, BERT_TABLE, name) == "loaded"
        schedcore.load(seed).bind(BERT_TABLE)
    assert check(BERT_TEXT, BERT_TABLE, "bert text") == "loaded"


# -- deterministic sweeps ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["bert", "policy"])
def test_every_single_mutation_of_a_seed(seed):
    counts = sweep(SEEDS[seed], BERT_TABLE)
    assert counts["loaded"] + counts["rejected"] > 1_000
    assert counts["loaded"] > 10 and counts["rejected"] > 500, counts


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
def test_every_single_mutation_of_a_node(type_name):
    """Every field of the node's seed tree (and its children) set to every garbage value."""
    doc = {"lr": 0.1, "training": {"total_steps": 1000}, "schedule": NODE_SEEDS[type_name]}
    counts = sweep(doc, None)
    assert counts["rejected"] > 100 and counts["loaded"] > 3, counts


def test_deep_garbage_in_every_field_of_the_bert_example():
    counts = sweep(BERT, None, DEEP_GARBAGE)
    assert counts["rejected"] >= len(list(walk(BERT))) * len(DEEP_GARBAGE)


def test_deep_nesting_of_schedules():
    def scales(depth: int) -> dict[str, Any]:
        tree: dict[str, Any] = {"type": "constant", "value": 0.5}
        for _ in range(depth):
            tree = {"type": "scale", "schedule": tree, "factor": 1.0}
        return tree

    # `schedule` itself is the first level
    assert check({"lr": 1.0, "schedule": scales(MAX_DEPTH - 1)}) == "loaded"
    for depth in (MAX_DEPTH, 200, 5_000):
        with pytest.raises(SpecError) as info:
            schedcore.load({"lr": 1.0, "schedule": scales(depth)})
        assert info.value.path.startswith("schedule.schedule"), info.value.path
        assert str(MAX_DEPTH) in info.value.problem
    # deep trees through lists: sequences of products
    tree: dict[str, Any] = {"type": "constant"}
    for i in range(300):
        if i % 2:
            tree = {"type": "product", "schedules": [tree]}
        else:
            tree = {"type": "sequence", "phases": [{"schedule": tree}]}
    assert check({"lr": 1.0, "schedule": tree}) == "rejected"
    # the depth counter is restored after a rejection: a legal tree still loads
    assert check({"lr": 1.0, "schedule": scales(10)}) == "loaded"
    # deep nesting in the text of a document
    for text in (
        '{"lr": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "lr = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "lr = 1\nschedule = " + "{ a = " * 5_000 + "1" + " }" * 5_000 + "\n",
        '{"lr": 1, "schedule": '
        + '{"type": "scale", "factor": 1, "schedule": ' * 3_000
        + '{"type": "constant"}'
        + "}" * 3_001,
    ):
        check(text, None, f"deep text {text[:30]!r}")


def test_garbage_percentages_and_counts_in_short_form():
    base = {"lr": 1e-3, "training": {"total_steps": 1000}}
    values = [
        "10", "abc%", "-5%", "5 %", "%", "10%%", "1e1%", "0x10%", "١٠%", "10.%", ".5%", "100.0%",
        "100.01%", "99.999999999999999999%", "0%", "100%", 0, 1, 999, 1000, 1001, -1, 1.0, 1.5,
        True, None, [], {}, 10**400, math.nan,
    ]  # fmt: skip
    n = 0
    for decay in ("constant", "linear", "cosine", "polynomial", "inverse_sqrt", "wsd"):
        for key in ("warmup", "cooldown"):
            for value in values:
                schedule = {"decay": decay, key: value}
                if decay == "wsd" and key == "warmup":
                    schedule["cooldown"] = 100
                for training in (base["training"], None, {"epochs": 3, "steps_per_epoch": 7}):
                    doc = {"lr": 1e-3, "schedule": schedule}
                    if training is not None:
                        doc["training"] = training
                    check(doc, None, f"{decay} {key}={value!r} training={training}")
                    n += 1
    assert n > 1_000


def test_garbage_parameter_tables():
    recipe = schedcore.load(BERT)
    rows = BERT_TABLE.to_data()[:6]
    bad_rows: list[Any] = [
        [*rows, rows[0]],  # duplicate name
        [{**rows[0], "name": "has space"}],
        [{**rows[0], "name": ""}],
        [{**rows[0], "name": None}],
        [{**rows[0], "shape": [-1]}],
        [{**rows[0], "shape": "768x768"}],
        [{**rows[0], "shape": [1.5]}],
        [{**rows[0], "shape": [True]}],
        [{**rows[0], "trainable": "yes"}],
        [{**rows[0], "tags": "bias"}],
        [{**rows[0], "tags": [1]}],
        [{**rows[0], "aliases": [rows[1]["name"]]}, rows[1]],
        [{**rows[0], "aliases": None}],
        [{**rows[0], "bogus": 1}],
        [("a", [1], 3)],
        [42],
        [None],
        [],
        ["lstm.weight", "linear_layer.bias"],
    ]
    for i, table in enumerate(bad_rows):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                bound = recipe.bind(table)
            except SpecError as err:
                check_spec_error(err, False, f"table {i}")
            else:
                check_values(bound.lr(np.array(PROBE_STEPS)), f"table {i}")
    with pytest.raises(SpecError):
        recipe.bind([{"name": "x y"}])


# -- text ------------------------------------------------------------------------------------------


def test_truncated_and_corrupted_toml_text():
    n = 0
    for cut in range(len(BERT_TEXT) + 1):
        check(BERT_TEXT[:cut] + "\n", BERT_TABLE if cut % 50 == 0 else None, f"cut at {cut}")
        n += 1
    rng = random.Random(20240601)
    alphabet = "=[]{}\"'#.,\n -_0123456789eE+%abcxyz\x00\x7f\u00e9\U0001f600\\"
    for i in range(600):
        chars = list(BERT_TEXT)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            what = rng.random()
            if what < 0.4:
                chars[at] = rng.choice(alphabet)
            elif what < 0.7:
                del chars[at]
            else:
                chars.insert(at, rng.choice(alphabet))
        check("".join(chars), None, f"corruption {i}")
        n += 1
    lines = BERT_TEXT.splitlines(keepends=True)
    for i in range(len(lines)):
        check("".join(lines[:i] + lines[i + 1 :]), None, f"without line {i}")
        check("".join(lines[: i + 1] + lines[i:]), None, f"line {i} twice")
        n += 2
    assert n > 1_000


def test_json_text_edge_cases():
    base = json.dumps(BERT)
    texts = [
        base,
        base[: len(base) // 2],
        "{}",
        "[]",
        "[1, 2]",
        '"text"',
        "{" * 10,
        '{"lr": NaN}',
        '{"lr": Infinity}',
        '{"lr": -Infinity}',
        '{"lr": 1e999}',
        '{"lr": 1' + "0" * 5_000 + "}",
        '{"lr": 1e-3, "training": {"total_steps": 1' + "0" * 400 + "}}",
        '{"lr": 1e-3, "lr": 2e-3}',
        '{"lr": 0.1, "schedule": {"type": "linear", "steps": 1e3}}',
        '{"lr": 0.1, "schedule": {"type": "linear", "steps": 1.0000001e3}}',
        '{"lr": 0.1, "schedule": {"type": "linear", "steps": "1000"}}',
        '{"lr": 0.1, "schedule": {"type": "linear", "steps": 100, "end": -0.0}}',
        '{"lr": 0.1, "version": 1.0}',
        '{"lr": 0.1, "version": true}',
        '{"lr": "0.1"}',
        "\ufeff" + base,
        "lr = 1" + "0" * 5_000 + "\n",
        "lr = 1e400\n",
        "lr = nan\n",
        "lr = inf\n",
        "lr = 0x10\n",
        "lr = 1979-05-27\n",
        "lr = 07:32:00\n",
        "lr = 1\n[training]\ntotal_steps = 1979-05-27T07:32:00Z\n",
        "lr = 1\nversion = 1979-05-27\n",
        "lr = 1\nname = 1979-05-27\n",
        "lr = 1\nschedule = {type = 'constant', value = 1979-05-27}\n",
        "lr = 1\n[schedule]\ndecay = 'cosine'\nwarmup = 1979-05-27\n",
        "lr = 1\n[groups]\nrules = [{name = 'a', match = {prefix = 1979-05-27}, lr = 1}]\n",
        "no_such_file.toml",
        "/",
        "a\x00b",
        "x" * 5_000,
        "",
        "\n",
    ]
    for i, text in enumerate(texts):
        check(text, BERT_TABLE, f"text {i}: {text[:40]!r}")


@given(text=st.text(max_size=300))
@settings(FUZZ, max_examples=200 * SCALE)
def test_random_text(text):
    check(text + "\n", None, "random text")
    check(text, None, "random text (no newline)")


@given(prefix=st.integers(0, len(BERT_TEXT)), junk=st.binary(max_size=64))
@settings(FUZZ, max_examples=150 * SCALE)
def test_random_bytes_spliced_into_toml(prefix, junk):
    text = BERT_TEXT[:prefix] + junk.decode("latin-1") + BERT_TEXT[prefix:]
    check(text, None, "spliced bytes")


# -- hypothesis-driven mutation ------------------------------------------------------------------

garbage_values = st.one_of(
    st.sampled_from(GARBAGE),
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=4)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
    st.sampled_from(sorted(NODE_TYPES)).map(lambda t: {"type": t}),
)


@st.composite
def mutated_documents(draw: Any) -> tuple[Any, Any, str]:
    """A valid recipe (from the shared strategy or a seed), then 1 to 4 random mutations."""
    if draw(st.booleans()):
        doc, rows = draw(recipes(max_leaves=4))
    else:
        doc, rows = copy.deepcopy(SEEDS[draw(st.sampled_from(sorted(SEEDS)))]), BERT_TABLE
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p, _ in walk(doc)]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "add", "node"]))
        if action == "set":
            doc = replace(doc, path, draw(garbage_values))
        elif action == "delete":
            doc = delete(doc, path)
        elif action == "add":
            parent = path[:-1]
            target = doc
            for key in parent:
                target = target[key]
            if isinstance(target, dict):
                # Python documents may also have non-string keys
                key = draw(st.one_of(st.text(max_size=8), st.integers(), st.none()))
                doc = replace(doc, (*parent, key), draw(garbage_values))
            else:
                doc = replace(doc, parent, [*target, draw(garbage_values)])
        else:
            node = draw(NODE_STRATEGIES[draw(st.sampled_from(sorted(NODE_TYPES)))]())
            doc = replace(doc, path, node)
        steps.append(f"{action} {path}")
    return doc, rows, "; ".join(steps)


@given(case=mutated_documents())
@settings(FUZZ, max_examples=300 * SCALE)
def test_random_mutation_chains(case):
    doc, rows, where = case
    check(doc, rows, where)


@given(pair=recipes(max_leaves=4), data=st.data())
@settings(FUZZ, max_examples=15 * SCALE)
def test_garbage_sweep_over_generated_recipes(pair, data):
    """Every path of a generated recipe, each set to a few garbage values."""
    doc, rows = pair
    rng = data.draw(st.randoms(use_true_random=False))
    paths = [p for p, _ in walk(doc)]
    for path in paths:
        for value in rng.sample(GARBAGE, 3):
            check(replace(doc, path, value), rows, f"{path} = {_short(value)[:40]}")
        check(delete(doc, path), rows, f"del {path}")
    check({**doc, "bogus": True}, rows, "unknown top-level key")


# -- group policies at the extremes --------------------------------------------------------------


def test_group_factor_extremes_grid():
    """Layer decay with extreme rates and ids (negative exponents when max_id is below an id),
    extreme lr and lr_scale: binding raises SpecError or gives finite lrs."""
    n = 0
    for rate in (1e-300, 5e-324, 1e-5, 0.5, 1.0, 2.0, 0.0):
        for max_id in (None, 0, 5, 10**6, MAX_STEP):
            for offset in (-1000, 0, 1000):
                effects = ({}, {"lr": 1e-30}, {"lr": 1e6}, {"lr_scale": 1e6}, {"lr_scale": 0.0})
                for effect in effects:
                    layers: dict[str, Any] = {
                        "pattern": r"encoder\.layer\.(\d+)\.",
                        "offset": offset,
                        "ids": {"bert.embeddings.*": 0},
                    }
                    if max_id is not None:
                        layers["max_id"] = max_id
                    doc = {
                        "lr": 1e-3,
                        "schedule": {"type": "constant", "value": 10.0},
                        "groups": {
                            "defaults": {},
                            "layers": layers,
                            "rules": [
                                {"name": "decay", "match": {"layers": [0, MAX_STEP]},
                                 "layer_decay": rate, **effect},
                                {"name": "head", "match": {"prefix": "lstm."}, **effect}
                                if effect else {"name": "head", "match": {"prefix": "lstm."},
                                                "frozen": False},
                            ],
                        },
                    }  # fmt: skip
                    check(doc, BERT_TABLE, f"rate={rate} max_id={max_id} offset={offset} {effect}")
                    n += 1
    assert n > 500


names = st.text(
    alphabet=st.characters(blacklist_categories=("Z", "Cc", "Cs")), min_size=1, max_size=12
)


@given(
    rows=st.lists(names, min_size=1, max_size=8, unique=True),
    pattern=st.sampled_from([r"(\d+)", r"(.)", r"(\w+)", r"\.(\d)\.", r"(.*)", r"(x)?"]),
    glob=names,
)
@settings(FUZZ, max_examples=150 * SCALE)
def test_random_parameter_names(rows, pattern, glob):
    """Unicode names, odd layer patterns and globs: bind raises only SpecError."""
    doc = {
        "lr": 1e-3,
        "groups": {
            "defaults": {"weight_decay": 0.01},
            "layers": {"pattern": pattern, "ids": {glob: 3}},
            "rules": [
                {"name": "decay", "match": {"layers": [0, 10**6]}, "layer_decay": 0.5,
                 "optional": True},
                {"name": "any", "match": {"glob": glob}, "wd_scale": 0.0, "optional": True},
                {"name": "tagged", "match": {"contains": rows[0]}, "lr_scale": 2.0},
            ],
        },
    }  # fmt: skip
    check(doc, rows, f"names {rows!r}, pattern {pattern!r}, glob {glob!r}")
    huge_id = [*rows, "encoder.7" + "9" * 30 + ".w"] if "encoder.7" not in rows else rows
    check(doc, huge_id, f"names {huge_id!r}, pattern {pattern!r}, glob {glob!r}")


PATTERNS = [
    "(" * 2_000 + ")" * 2_000,  # nests deeper than re's parser recursion
    "a{99999999999999999999}",  # a repeat count beyond C long
    "a{5,2}", "(?P<x>a)(?P<x>b)", "[z-a]", "(?<=a+)b", "\\", "*", "(", ")", "[", "?",
    "(\\d+)", "(x)?", "()", ".*", "é(\\d)", "\x00", "a" * 10_000, "[[:digit:]]",
]  # fmt: skip


@pytest.mark.parametrize("field", ["glob", "regex", "prefix", "contains", "name", "tags"])
def test_pathological_patterns_in_selectors(field):
    for pattern in PATTERNS:
        for value in (pattern, [pattern], [pattern, pattern]):
            doc = {
                "lr": 1e-3,
                "groups": {
                    "defaults": {},
                    "rules": [{"name": "r", "match": {field: value}, "lr": 1.0, "optional": True}],
                },
            }
            check(doc, BERT_TABLE, f"{field} = {_short(value)[:50]}")


def test_pathological_layer_patterns():
    for pattern in PATTERNS:
        for ids in ({}, {pattern: 1}, {"bert.*": 0}):
            layers = {"pattern": pattern, "ids": ids}
            doc = {
                "lr": 1e-3,
                "groups": {
                    "defaults": {},
                    "layers": layers,
                    "rules": [{"name": "d", "match": {"layers": [0, 99]}, "layer_decay": 0.5}],
                },
            }
            check(doc, BERT_TABLE, f"layers {_short(layers)[:60]}")


# -- 100k hostile documents: dict, JSON and TOML, with a cheap oracle ------------------------------

HOSTILE_COUNTS = {"dict": 40_000, "json": 30_000, "toml": 30_000}
HOSTILE_SEEDS = {"dict": 1, "json": 2, "toml": 3}
"""Documents per form in one full run (100k in all); SCHEDCORE_FUZZ_SCALE multiplies them."""

# JSON-able garbage (any of it may also land in a TOML document where TOML can say it)
PLAIN_GARBAGE = [
    g for g in GARBAGE if isinstance(g, (type(None), bool, int, float, str, list, dict))
]  # fmt: skip
TEXT_JUNK = ["", "\n", "]", "[", "{", "}", '"', "=", ",", "\\", "\x00", "\ufeff", "\ud800",
             "[[", "'''", "nan", "1e999", "#", "\t", "é", "\u2028", '"lr": 1,',
             "lr = 1\n"]  # fmt: skip


def hostile_seeds() -> list[dict[str, Any]]:
    """Small valid recipes: one per node type, the short forms, and the BERT example."""
    out = [
        {"lr": 0.1, "training": {"total_steps": 1000}, "schedule": copy.deepcopy(tree)}
        for tree in NODE_SEEDS.values()
    ]
    out.append(copy.deepcopy(BERT))
    out.append({"lr": 3e-4, "training": {"epochs": 3, "steps_per_epoch": 100},
                "schedule": {"warmup": "5%", "decay": "cosine", "min_lr_ratio": 0.1}})  # fmt: skip
    return out


def mutate(doc: Any, rng: random.Random, plain: bool) -> Any:
    """1 or 2 cheap random mutations (copies only along each mutated path)."""
    garbage = PLAIN_GARBAGE if plain else GARBAGE
    for _ in range(rng.randint(1, 2)):
        paths = [p for p, _ in walk(doc)]
        if not paths:
            return doc
        path = rng.choice(paths)
        action = rng.random()
        if action < 0.55:
            doc = replace(doc, path, rng.choice(garbage))
        elif action < 0.7:
            doc = delete(doc, path)
        elif action < 0.8:
            parent = dict(walk(doc)).get(path[:-1], doc) if path[:-1] else doc
            if isinstance(parent, dict):  # a key added (or overwritten) in a table
                key = rng.choice(
                    ["bogus", "type", "steps", "lr", "schedule", *([] if plain else [1, None])]
                )
                doc = replace(doc, (*path[:-1], key), rng.choice(garbage))
        elif action < 0.9:
            doc = replace(doc, path, {"type": rng.choice(sorted(NODE_TYPES))})
        else:  # a sub-tree copied elsewhere (shared, in the dict form)
            doc = replace(doc, path, rng.choice([v for _, v in walk(doc)]))
    return doc


def mutate_text(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(text))
        action = rng.random()
        if action < 0.4:
            text = text[:at] + rng.choice(TEXT_JUNK) + text[at:]
        elif action < 0.6:
            text = text[:at]
        elif action < 0.8:
            end = min(len(text), at + rng.randint(1, 20))
            text = text[:at] + text[end:]
        else:  # a line given twice (duplicate keys)
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            text = "\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    return text


def hostile_sources(form: str, count: int, seed: int) -> Iterator[Any]:
    from schedcore.recipes import tomlwrite

    rng = random.Random(seed)
    seeds = hostile_seeds()
    made = 0
    while made < count:
        doc = mutate(rng.choice(seeds), rng, plain=form != "dict")
        if form == "dict":
            yield doc
        else:
            try:
                text = json.dumps(doc) if form == "json" else tomlwrite.dumps(doc)
            except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
                continue  # not expressible in that form
            yield mutate_text(text, rng) if rng.random() < 0.4 else text
        made += 1


def quick_check(source: Any) -> str:
    """Load; a recipe's lrs (every schedule) at the probe steps are finite and >= 0, and
    its normalized document loads back to it."""
    try:
        recipe = schedcore.load(source)
    except SpecError as err:
        assert str(err).strip()
        return "rejected"
    steps = np.array(PROBE_STEPS, dtype=np.int64)
    for schedule in (recipe.schedule, *recipe.schedules.values()):
        try:
            values = recipe.base_lr * schedule(steps)
        except StepRangeError:
            assert has_error_mode(recipe.to_dict()), "StepRangeError without after = 'error'"
            continue
        assert np.all(np.isfinite(values)) and np.all(values >= 0), f"lr {values}"
    assert schedcore.load(recipe.to_dict()) == recipe, "to_dict does not round-trip"
    return "loaded"


@pytest.mark.parametrize("form", sorted(HOSTILE_COUNTS))
def test_100k_hostile_documents(form):
    """dict, JSON and TOML documents (40k + 30k + 30k): 0 escapes other than SpecError,
    0 NaN, inf or negative lrs."""
    count = HOSTILE_COUNTS[form] * SCALE
    counts = {"loaded": 0, "rejected": 0}
    escapes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            for i, source in enumerate(hostile_sources(form, count, HOSTILE_SEEDS[form])):
                try:
                    counts[quick_check(source)] += 1
                except Exception as err:  # an escape, or a failed assertion
                    escapes.append(f"#{i} {type(err).__name__}: {str(err)[:200]}\n{_short(source)}")
    assert not escapes, f"{len(escapes)} of {count} escaped:\n" + "\n".join(escapes[:5])
    assert counts["loaded"] + counts["rejected"] == count
    assert counts["loaded"] > count // 50 and counts["rejected"] > count // 5, counts
