"""OneFlow planner tests (main venv): the planner is framework-free; tests/oneflow runs the
same plans in OneFlow itself."""
