"""The loader on hostile input: files, encodings, paths, keys, sizes, numerics, threads.

Every case either loads or raises a SpecError that names the field; none lets out another
exception, hangs, or fills the memory.
"""

from __future__ import annotations

import codecs
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

import schedcore as sc
from schedcore import SpecError
from schedcore.recipes.document import MAX_DOCUMENT_BYTES
from schedcore.schedules.breakpoints import boundaries
from schedcore.schedules.node import LISTED_LIMIT, MAX_DEPTH, MAX_NODES

TOML = 'name = "héllo"\nlr = 0.1\n[training]\ntotal_steps = 100\n[schedule]\ndecay = "cosine"\n'
BASE = {"lr": 0.1, "training": {"total_steps": 100}}
PROBES = np.array([0, 1, 2, 3, 4, 7, 99, 1_000, 65_536, 10**6, 2**31, 2**53 - 1, 2**53])


# -- files, encodings, paths -------------------------------------------------------------------


def test_a_utf8_bom_is_accepted_in_a_file_and_in_text(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(codecs.BOM_UTF8 + TOML.encode())
    assert sc.load(path) == sc.load(TOML)
    assert sc.load(str(path)).name == "héllo"
    assert sc.load("\ufeff" + TOML) == sc.load(TOML)
    json_path = tmp_path / "bom.json"
    json_path.write_bytes(codecs.BOM_UTF8 + json.dumps(BASE).encode())
    assert sc.load(json_path).base_lr == 0.1


def test_non_utf8_files_are_refused_by_name(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes(TOML.encode("latin-1"))
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\)"):
        sc.load(latin)
    wide = tmp_path / "wide.toml"
    wide.write_bytes(TOML.encode("utf-16"))
    with pytest.raises(SpecError, match="is UTF-16 text: save it as UTF-8"):
        sc.load(wide)
    binary = tmp_path / "x.json"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(SpecError, match="not UTF-8"):
        sc.load(str(binary))


def test_files_are_read_with_a_size_cap(tmp_path):
    with pytest.raises(SpecError, match="larger than 8 MiB"):
        sc.load("/dev/zero")
    with pytest.raises(SpecError, match="larger than 8 MiB"):
        sc.load(Path("/dev/zero"))
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_DOCUMENT_BYTES + b"\nlr = 0.1\n")
    with pytest.raises(SpecError, match="larger than"):
        sc.load(big)
    with pytest.raises(SpecError, match="longer than"):
        sc.load("lr = 0.1\n#" + "x" * MAX_DOCUMENT_BYTES)


def test_a_path_argument_is_always_a_path(tmp_path, monkeypatch):
    odd = tmp_path / "[v2] recipe.toml"  # starts with "[" like a TOML table header
    odd.write_text(TOML, encoding="utf-8")
    assert sc.load(odd).name == "héllo"
    assert sc.load(str(odd)).name == "héllo"
    monkeypatch.chdir(tmp_path)
    assert sc.load("[v2] recipe.toml").name == "héllo"  # a relative name, too
    brace = tmp_path / "{x}.json"
    brace.write_text(json.dumps(BASE), encoding="utf-8")
    assert sc.load("{x}.json").base_lr == 0.1
    with pytest.raises(SpecError, match=r"recipe file '\[v3\] recipe.toml' does not exist"):
        sc.load("[v3] recipe.toml")
    with pytest.raises(SpecError, match="does not exist"):
        sc.load(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="cannot read recipe file"):
        sc.load(tmp_path)  # a directory
    with pytest.raises(SpecError, match="cannot read recipe file"):
        sc.load(Path("nul\0byte.toml"))
    assert sc.load('{"lr": 0.5}').base_lr == 0.5  # text is still text


def test_a_source_of_another_type_is_a_spec_error():
    for source in (None, 3, b"lr = 0.1", ["lr"]):
        with pytest.raises(SpecError, match="a recipe is a file path"):
            sc.load(source)  # type: ignore[arg-type]


# -- keys and strings --------------------------------------------------------------------------


def test_lone_surrogates_are_refused_naming_the_field():
    with pytest.raises(SpecError, match=r"^name: contains a lone surrogate"):
        sc.load('{"lr": 0.1, "name": "a\\ud800b"}')
    with pytest.raises(SpecError, match=r"^name: contains a lone surrogate"):
        sc.load({**BASE, "name": "\udcff"})
    with pytest.raises(SpecError, match=r"^schedules\.x\\udc80: this key contains"):
        sc.load({**BASE, "schedules": {"x\udc80": {"decay": "linear"}}})
    with pytest.raises(SpecError, match=r"^groups\.rules\[0\]\.name: contains"):
        sc.load({**BASE, "groups": {"rules": [{"name": "\ud800", "match": {"prefix": "a"}}]}})
    for err in _errors({**BASE, "name": "\ud800"}, {**BASE, "schedules": {"\ud800": {}}}):
        str(err).encode("utf-8")  # every message prints


def _errors(*docs):
    for doc in docs:
        with pytest.raises(SpecError) as info:
            sc.load(doc)
        yield info.value


def test_keys_must_be_strings():
    with pytest.raises(SpecError, match=r"^schedules\.1: keys must be strings, got 1 \(int\)"):
        sc.load({**BASE, "schedules": {1: {"decay": "linear"}}})
    with pytest.raises(SpecError, match=r"^schedule\.\('a', 1\): keys must be strings"):
        sc.load({**BASE, "schedule": {("a", 1): 2}})
    with pytest.raises(SpecError, match=r"^3: keys must be strings, got 3"):
        sc.load({**BASE, 3: 1})


def test_version_of_any_type():
    assert sc.load({**BASE, "version": 1}).version == 1
    assert sc.load({**BASE, "version": np.int64(1)}).version == 1
    for version in (np.array([1, 1]), np.array(1), np.array([]), "1", None, True, 2, math.nan):
        with pytest.raises(SpecError, match=r"^version: must be 1"):
            sc.load({**BASE, "version": version})


def test_json_duplicate_keys_are_an_error_naming_the_path():
    with pytest.raises(SpecError, match=r"^lr: is given twice in one JSON object"):
        sc.load('{"lr": 0.1, "lr": 0.2}')
    with pytest.raises(SpecError, match=r"^schedule\.phases\[1\]\.steps: is given twice"):
        sc.load(
            '{"lr": 0.1, "schedule": {"type": "sequence", "phases": ['
            '{"schedule": {"type": "constant"}, "steps": 3},'
            '{"schedule": {"type": "constant"}, "steps": 3, "steps": 4}]}}'
        )
    with pytest.raises(SpecError, match="given twice"):
        sc.load('{"lr": 0.1, "training": {"total_steps": 5, "total_steps": 5}}')
    # TOML refuses them too (as its own parse error)
    with pytest.raises(SpecError, match="not valid TOML"):
        sc.load("lr = 0.1\nlr = 0.2\n")


# -- horizons and numerics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "training",
    [
        {"epochs": 2**30, "steps_per_epoch": 2**30},
        {"epochs": 2**53, "steps_per_epoch": 2**53},  # 2**106 steps
        {"epochs": 2**27, "dataset_size": 2**53, "batch_size": 2**25},
        {"total_steps": 10, "epochs": 2**40, "steps_per_epoch": 2**40},
    ],
)
def test_derived_horizons_are_checked_against_2_53_naming_training(training):
    with pytest.raises(SpecError, match=r"^training\.epochs: .* more than 2\*\*53"):
        sc.load({"lr": 0.1, "training": training})


def test_a_derived_horizon_of_exactly_2_53_loads():
    recipe = sc.load({"lr": 0.1, "training": {"epochs": 2**26, "steps_per_epoch": 2**27}})
    assert recipe.total_steps == 2**53


@pytest.mark.parametrize("t_mul", [1e300, 1.5e300, 1.7976931348623157e308, 1e17, 2.0**53 + 2])
@pytest.mark.parametrize("cycle_index", ["exact", "log"])
def test_a_huge_t_mul_is_refused(t_mul, cycle_index):
    node = {"type": "sgdr", "period": 3, "t_mul": t_mul, "cycle_index": cycle_index}
    with pytest.raises(
        SpecError, match=r"^schedule\.t_mul: must be a number in \[1, 9\.0072e\+15\]"
    ):
        sc.load({**BASE, "schedule": node})


@pytest.mark.parametrize("t_mul", [2.0**53, 1e15, 3e12 + 0.5])
@pytest.mark.parametrize("cycle_index", ["exact", "log"])
@pytest.mark.parametrize("limit", [None, 2])
def test_the_largest_t_mul_evaluates_and_lists_restarts(t_mul, cycle_index, limit):
    schedule = sc.from_dict(
        {"type": "sgdr", "period": 3, "t_mul": t_mul, "cycle_index": cycle_index, "k_decay": 0.5}
        | ({"cycle_limit": limit} if limit else {})
    )
    values = schedule(PROBES)
    assert np.isfinite(values).all() and (values >= 0).all()
    assert [schedule(int(k)) for k in PROBES] == values.tolist()
    first = schedule.restarts(2**53)[0]  # 3, or a step later where float rounding puts it
    assert first in (3, 4) and schedule(first) > 0.99 > schedule(first - 1)  # it restarts
    schedule.breakpoints(2**53)
    span = schedule.cycle_span(5)
    assert span is None or span[0] == first


@pytest.mark.parametrize("cycle_index", ["exact", "log"])
@pytest.mark.parametrize("t_mul", [1.0, 1.0000000000000002, 1.000001, 1.5, 2.0])
def test_sgdr_with_k_decay_gives_no_nan(t_mul, cycle_index):
    node = {"type": "sgdr", "period": 3, "t_mul": t_mul, "k_decay": 0.5}
    node["cycle_index"] = cycle_index
    try:
        schedule = sc.from_dict(node)
    except SpecError:
        assert cycle_index == "log" and 1 < t_mul < 1.000001  # refused, by design
        return
    with np.errstate(all="raise"):
        values = schedule(np.concatenate([np.arange(2000), PROBES]))
    assert np.isfinite(values).all()


# -- resources ---------------------------------------------------------------------------------


def shared_products(levels: int) -> dict:
    """A few hundred bytes as JSON, 2**levels leaves once expanded (a YAML alias bomb)."""
    node: dict = {"type": "constant", "value": 1.0}
    for _ in range(levels):
        node = {"type": "product", "schedules": [node, node]}
    return node


def test_shared_sub_dicts_cannot_expand_without_bound():
    assert sc.load({**BASE, "schedule": shared_products(10)})  # 2047 nodes: fine
    with pytest.raises(SpecError, match=f"builds more than {MAX_NODES} schedule nodes"):
        sc.load({**BASE, "schedule": shared_products(15)})  # 32,768 product leaves
    with pytest.raises(SpecError, match=f"more than {MAX_NODES}"):
        sc.load({**BASE, "schedule": shared_products(60)})  # 2**60 leaves
    # the budget is per document: the next load starts afresh
    assert sc.load({**BASE, "schedule": shared_products(10)})


def nested_repeats(levels: int, leaf: dict | None = None) -> dict:
    node = leaf or {"type": "linear", "steps": 5}
    period = 10
    for _ in range(levels):
        node = {"type": "repeat", "schedule": node, "period": period}
        period = min(period * 100, 2**52)
    return node


@pytest.mark.parametrize(
    "leaf",
    [
        None,
        {"type": "cyclic", "low": 0.1, "high": 1.0, "up": 2},
        {"type": "sgdr", "period": 2, "t_mul": 2.0},
    ],
)
def test_boundaries_of_nested_repeats_are_bounded(leaf):
    for levels in (2, 3, 4, 8, MAX_DEPTH - 1):
        schedule = sc.from_dict(nested_repeats(levels, leaf))
        found = boundaries(schedule, 2**53)
        assert len(found) <= LISTED_LIMIT and found == sorted(set(found))
        assert found[0] <= 5  # the earliest are kept


def test_a_long_sequence_of_repeats_lists_every_phase_start():
    phase = {"schedule": nested_repeats(3, {"type": "cyclic", "low": 0, "high": 1, "up": 2})}
    doc = {"type": "sequence", "phases": [{**phase, "steps": 10**8} for _ in range(1000)]}
    schedule = sc.from_dict(doc)
    found = boundaries(schedule, 2**53)
    assert set(schedule.starts[1:1000]) <= set(found)


# -- threads -----------------------------------------------------------------------------------


def deep_scales(depth: int) -> dict:
    node: dict = {"type": "constant", "value": 0.5}
    for _ in range(depth - 1):
        node = {"type": "scale", "schedule": node, "factor": 1.0}
    return node


def test_loading_is_thread_safe():
    legal = json.dumps({**BASE, "schedule": deep_scales(20)})
    too_deep = {**BASE, "schedule": deep_scales(MAX_DEPTH + 1)}
    failures: list[BaseException] = []
    wrong: list[str] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        barrier.wait()
        for n in range(100):
            try:
                if (n + i) % 5 == 0:  # interleave refusals, which unwind mid-document
                    try:
                        sc.load(too_deep)
                        wrong.append("a too-deep document loaded")
                    except SpecError as err:
                        if f"deeper than {MAX_DEPTH}" not in str(err):
                            wrong.append(str(err))
                else:
                    assert sc.load(legal).schedule(0) == 0.5
            except BaseException as err:  # collected for the assertion below
                failures.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and wrong == []
    # depth 64 is still the limit in this thread, with nothing left over from the others
    assert sc.load({**BASE, "schedule": deep_scales(MAX_DEPTH)})
    with pytest.raises(SpecError, match=f"deeper than {MAX_DEPTH}"):
        sc.load(too_deep)
