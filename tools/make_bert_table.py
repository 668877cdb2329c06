"""Regenerate the bundled parameter table of the seeds' BERT + LSTM + linear model.

The model is bert-base-uncased's architecture (transformers' default BertConfig), randomly
initialised (nothing is downloaded), with the seed's LSTM and linear head::

    python tools/make_bert_table.py > schedcore/examples/bert_lstm_params.csv
"""

import csv
import sys

import transformers
from torch import nn

from schedcore_torch import param_table


class BertTest(nn.Module):
    def __init__(self, embedding_size: int, hidden_size: int) -> None:
        super().__init__()
        self.bert_model = transformers.BertModel(transformers.BertConfig())
        self.lstm = nn.LSTM(hidden_size, embedding_size)
        self.drop_out = nn.Dropout(0.1)
        self.linear_layer = nn.Linear(embedding_size, hidden_size)


def main() -> None:
    table = param_table(BertTest(100, 768))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["name", "shape", "trainable", "tags", "aliases"])
    for p in table:
        tags = sorted(t for t in p.tags if not t.startswith("type:"))
        out.writerow(
            [p.name, "x".join(map(str, p.shape)), "true", ";".join(tags), ";".join(p.aliases)]
        )


if __name__ == "__main__":
    main()
