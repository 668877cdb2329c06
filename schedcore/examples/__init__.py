"""Bundled example recipes and parameter tables."""

from pathlib import Path

HERE = Path(__file__).parent
BERT_RECIPE = HERE / "bert_finetune.toml"
BERT_PARAMS = HERE / "bert_lstm_params.csv"
