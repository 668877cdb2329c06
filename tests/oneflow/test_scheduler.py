"""schedcore_oneflow.scheduler (eager): exact lrs per group, plain-data state, resume in the
same process and in a new one (flow.save / flow.load), and clear errors on misuse."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import oneflow as flow
import pytest
from scheduler_cases import RECIPE, applied_lrs

import schedcore as sc
import schedcore_oneflow as so


class Net(flow.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = flow.nn.Linear(3, 3)
        self.head = flow.nn.Linear(3, 1)


def test_lrs_equal_the_core_per_group_with_named_schedules():
    recipe = sc.load(RECIPE)
    model = Net()
    opt, sched = so.build(model, recipe)
    got = applied_lrs(opt, sched, 90)  # 30 steps past the end
    expected = recipe.bind(so.param_table(model)).lr(np.arange(90))
    np.testing.assert_array_equal(got, expected)
    assert sched.get_last_lr() == [float(g["lr"]) for g in opt.param_groups]
    assert sorted({g["schedule"] for g in opt.param_groups}) == ["default", "head"]
    assert sched.lrs_at(89) == list(expected[:, 89])


def test_each_distinct_schedule_is_evaluated_once_per_step():
    model = flow.nn.ModuleDict({f"m{i}": flow.nn.Linear(2, 2) for i in range(12)})
    model["head"] = flow.nn.Linear(2, 2)
    rules = [
        {"name": f"g{i}", "match": {"prefix": f"m{i}."}, "lr_scale": 1 + i / 10} for i in range(12)
    ]
    rules.append(RECIPE["groups"]["rules"][0])
    recipe = sc.load({**RECIPE, "groups": {"defaults": {}, "rules": rules}})
    opt, sched = so.build(model, recipe)
    assert len(opt.param_groups) == 13 and len(sched.schedules.steppers) == 2


def test_state_dict_is_plain_data_and_resume_is_exact(tmp_path):
    recipe = sc.load(RECIPE)
    opt, sched = so.build(Net(), recipe)
    full = applied_lrs(opt, sched, 40)

    opt, sched = so.build(Net(), recipe)
    first = applied_lrs(opt, sched, 17)
    state = sched.state_dict()
    assert json.loads(json.dumps(state)) == state  # ints, floats, strings, lists only
    path = tmp_path / "ckpt"
    flow.save({"opt": opt.state_dict(), "sched": state}, str(path))
    saved = flow.load(str(path))

    opt2, sched2 = so.build(Net(), recipe)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    rest = applied_lrs(opt2, sched2, 23)
    np.testing.assert_array_equal(np.concatenate([first, rest], axis=1), full)


def test_loading_state_from_another_schedule_raises_unless_allowed():
    opt, sched = so.build(Net(), sc.load(RECIPE))
    applied_lrs(opt, sched, 5)
    state = sched.state_dict()
    changed = sc.load({**RECIPE, "schedule": {"warmup": 10, "decay": "linear"}})
    _, sched2 = so.build(Net(), changed)
    with pytest.raises(ValueError, match="different schedule"):
        sched2.load_state_dict(state)
    sched2.load_state_dict(state, allow_schedule_change=True)
    assert sched2.last_step == 5
    assert sched2.optimizer.param_groups[0]["lr"] == sched2.lrs_at(5)[0]


def test_unknown_group_schedule_is_a_clear_error():
    opt = flow.optim.SGD(
        [{"params": [flow.nn.Parameter(flow.zeros(1))], "schedule": "nope"}], lr=0.1
    )
    with pytest.raises(ValueError, match=r"param_groups\[0\]\['schedule'\] is 'nope'"):
        so.scheduler(opt, sc.load(RECIPE))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"last_step": None}, "'last_step' must be an integer"),
        ({"last_step": 1.9}, "'last_step' must be an integer"),
        ({"_last_lr": [0.1]}, "'_last_lr' lists 1 lrs, but the optimizer has"),
        ({"_last_lr": "x"}, "'_last_lr' must be a list"),
    ],
)
def test_malformed_state_is_refused_naming_the_key(change, message):
    recipe = sc.load(RECIPE)
    opt, sched = so.build(Net(), recipe)
    applied_lrs(opt, sched, 5)
    _, sched2 = so.build(Net(), recipe)
    with pytest.raises(ValueError, match=message):
        sched2.load_state_dict({**sched.state_dict(), **change})
    assert sched2.last_step == 0  # nothing was half-loaded
    with pytest.raises(ValueError, match="scheduler state has no 'last_step'"):
        sched2.load_state_dict({k: v for k, v in sched.state_dict().items() if k != "last_step"})
    with pytest.raises(ValueError, match="scheduler state must be a dict"):
        sched2.load_state_dict(None)  # type: ignore[arg-type]


def test_resume_without_the_optimizer_state_sets_the_group_lrs():
    recipe = sc.load(RECIPE)
    opt, sched = so.build(Net(), recipe)
    full = applied_lrs(opt, sched, 20)
    opt, sched = so.build(Net(), recipe)
    applied_lrs(opt, sched, 9)
    opt2, sched2 = so.build(Net(), recipe)
    sched2.load_state_dict(sched.state_dict())
    assert [g["lr"] for g in opt2.param_groups] == list(full[:, 9])


def test_a_lambdalr_state_is_refused_saying_what_it_is():
    opt = flow.optim.SGD(Net().parameters(), lr=0.1)
    lam = flow.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5**k)
    opt.step()
    lam.step()
    _, sched = so.build(Net(), sc.load(RECIPE))
    with pytest.raises(ValueError, match="not saved by a schedcore RecipeLR"):
        sched.load_state_dict(lam.state_dict())


def test_misuse_in_graph_or_inside_sequential_lr_is_a_clear_error():
    opt, sched = so.build(Net(), sc.load(RECIPE))
    # what nn.Graph calls when it compiles an optimizer's lr_sch
    with pytest.raises(TypeError, match="graph_optimizers"):
        sched._generate_conf_for_graph(None)
    with pytest.raises(TypeError, match="cannot serve as one scheduler inside"):
        flow.optim.lr_scheduler.SequentialLR(opt, [sched], milestones=[])


RESUME_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import oneflow as flow
    import schedcore as sc
    import schedcore_oneflow as so

    recipe_path, ckpt, mode, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    recipe = sc.load(recipe_path)
    flow.manual_seed(0)
    model = flow.nn.Sequential(flow.nn.Linear(4, 4), flow.nn.LayerNorm(4))
    opt, sched = so.build(model, recipe, optimizer=flow.optim.SGD, momentum=0.9)
    if mode == "resume":
        state = flow.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
    lrs = []
    x = flow.ones(2, 4)
    for _ in range(steps):
        lrs.append([g["lr"] for g in opt.param_groups])
        model(x).square().sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    if mode == "save":
        flow.save({"model": model.state_dict(), "opt": opt.state_dict(),
                   "sched": sched.state_dict()}, ckpt)
    print(json.dumps({"lrs": lrs, "params": [p.numpy().tolist() for p in model.parameters()]}))
    """
)


def run_script(tmp_path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)


def result(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kill_and_resume_in_a_new_process(tmp_path):
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        'lr = 0.01\n[training]\ntotal_steps = 30\n[schedule]\nwarmup = 5\ndecay = "cosine"\n'
        "[groups.defaults]\nweight_decay = 0.1\n"
        '[[groups.rules]]\nname = "norm"\nmatch = { tags = ["norm", "bias"] }\nweight_decay = 0.0\n'
    )
    ckpt = str(tmp_path / "ckpt")
    whole = result(run_script(tmp_path, str(recipe), ckpt, "none", "40"))
    first = result(run_script(tmp_path, str(recipe), ckpt, "save", "12"))
    rest = result(run_script(tmp_path, str(recipe), ckpt, "resume", "28"))
    assert first["lrs"] + rest["lrs"] == whole["lrs"]  # exact, past the end too
    assert rest["params"] == whole["params"]  # the run itself continues bit-identically
    recipe.write_text(recipe.read_text().replace('decay = "cosine"', 'decay = "linear"'))
    done = run_script(tmp_path, str(recipe), ckpt, "resume", "3")
    assert done.returncode != 0 and "different schedule" in done.stderr
