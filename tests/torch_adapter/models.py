"""Small torch models shared by the PyTorch adapter tests and examples."""

from __future__ import annotations

import torch
import transformers
from torch import nn


def tiny_bert_config() -> transformers.BertConfig:
    return transformers.BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )


class BertTest(nn.Module):
    """The seeds' model: a (tiny, randomly initialised) BERT encoder, an LSTM and a linear head."""

    def __init__(self, embedding_size: int = 8, hidden_size: int = 32) -> None:
        super().__init__()
        self.bert_model = transformers.BertModel(tiny_bert_config())
        self.lstm = nn.LSTM(hidden_size, embedding_size, batch_first=True)
        self.drop_out = nn.Dropout(0.1)
        self.linear_layer = nn.Linear(embedding_size, hidden_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.bert_model(input_ids).last_hidden_state
        out, _ = self.lstm(hidden)
        return self.linear_layer(self.drop_out(out))
