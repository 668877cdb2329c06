import os
import sys
from pathlib import Path

# Keras reads its backend once, at import: these tests run on TensorFlow (the JAX and torch
# backends are exercised in subprocesses, see test_backends.py).
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
