"""nn.Graph measurements in a child process (``python graph_worker.py`` serves them).

OneFlow 0.9.0's nn.Graph is unstable when one process builds many graphs: destroying a graph
can crash the process (``Check failed: id2actor_ptr_.empty()`` or a segfault; fixed upstream
after 0.9.0, Oneflow-Inc/oneflow#9696), and twenty-odd live graphs hang it. So the tests build
their graphs in a worker that keeps every graph alive, serves at most
:data:`GRAPHS_PER_WORKER` of them and then leaves with ``os._exit`` (skipping the teardown);
:class:`GraphWorker` starts a fresh one as needed. A request whose worker dies is retried in
a fresh worker, up to :data:`ATTEMPTS` times; then the test fails with the worker's stderr.
(Each probe step also carries ballast work, see ``probes.TrainGraph``, which makes such deaths
rare.)

Protocol: one JSON object per line. A request ``{"recipe", "rows", "first", "count",
"tolerance"}`` gets ``{"ok": true, "applied": [[lr per update] per group], "max_error",
"exact", "optimizers", "lr_scales"}`` or ``{"ok": false, "kind", "message", ...}``.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GRAPHS_PER_WORKER = 8
ATTEMPTS = 6
# (a clean-clone CI run saw one request's worker segfault three times in a row, at start-up,
# and pass on the next: the deaths are OneFlow's, not the request's)
# OneFlow 0.9.0 can also deadlock between two graphs of one process (seen: a launch waiting
# in LazyJobStreamPolicy::WaitUntilQueueEmptyIfFrontNNGraphNotEquals forever): a reply that
# takes longer than this (the slowest measurement takes well under a minute) is a dead worker
REPLY_TIMEOUT_S = 300


class WorkerDied(RuntimeError):
    pass


def _measure(request: dict[str, Any]) -> dict[str, Any]:
    from probes import graph_applied

    import schedcore as sc
    import schedcore_oneflow as so

    recipe = sc.load(request["recipe"]).bind(request["rows"])
    try:
        applied, pairs = graph_applied(
            recipe, request["first"], request["count"], request.get("tolerance")
        )
    except so.NotLowerable as err:
        return {
            "ok": False,
            "kind": "NotLowerable",
            "path": err.path,
            "node_type": err.node_type,
            "reason": err.reason,
            "message": str(err),
        }
    return {
        "ok": True,
        "applied": applied.tolist(),
        "max_error": max((p.plan.max_error for p in pairs), default=0.0),
        "exact": all(p.plan.exact for p in pairs),
        "optimizers": [[g["param_names"] for g in p.optimizer.param_groups] for p in pairs],
        "lr_scales": [[g["lr_scale"] for g in p.optimizer.param_groups] for p in pairs],
        "base_lrs": [p.optimizer.param_groups[0]["initial_lr"] for p in pairs],
        "kinds": [type(p.lr_scheduler).__name__ for p in pairs],
    }


def serve() -> None:
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    for graphs, line in enumerate(sys.stdin, start=1):
        request = json.loads(line)
        if request.get("quit"):
            break
        try:
            reply = _measure(request)
        except Exception as err:  # reported to the test, which fails with it
            reply = {"ok": False, "kind": type(err).__name__, "message": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if graphs >= GRAPHS_PER_WORKER:
            break
    sys.stdout.flush()
    os._exit(0)  # no graph teardown: see the module docstring


class GraphWorker:
    """Client: ``measure(...)`` runs one nn.Graph measurement in a worker process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.stderr: Any = None
        self.served = 0
        self.started = 0
        self.deaths = 0

    def _start(self) -> subprocess.Popen[str]:
        self.started += 1
        self.served = 0
        # a file, not a pipe: a full pipe would block the worker
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        return subprocess.Popen(
            [sys.executable, str(HERE / "graph_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.process is None or self.served >= GRAPHS_PER_WORKER:
            self.close()
            self.process = self._start()
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], REPLY_TIMEOUT_S)
            if not ready:
                process.kill()  # hung: then reported as a dead worker, run again
            line = process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            process.wait(timeout=60)
            self.stderr.seek(0)
            stderr = self.stderr.read()
            self.close()
            raise WorkerDied(f"graph worker exited with {process.returncode}:\n{stderr[-4000:]}")
        self.served += 1
        return json.loads(line)

    def measure(
        self,
        recipe: dict[str, Any],
        rows: list[Any],
        first: int,
        count: int,
        tolerance: float | None = None,
    ) -> dict[str, Any]:
        request = {
            "recipe": recipe,
            "rows": rows,
            "first": first,
            "count": count,
            "tolerance": tolerance,
        }
        for attempt in range(ATTEMPTS):
            try:
                reply = self._ask(request)
                break
            except WorkerDied:  # OneFlow 0.9.0 crashes now and then: again, in a fresh worker
                self.deaths += 1
                if attempt == ATTEMPTS - 1:
                    raise
        if not reply["ok"] and reply["kind"] != "NotLowerable":
            raise AssertionError(f"graph worker: {reply['kind']}: {reply['message']}")
        return reply

    def close(self) -> None:
        if self.process is not None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


if __name__ == "__main__":
    serve()
