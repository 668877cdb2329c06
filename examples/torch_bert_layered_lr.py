"""The seeds' BERT + LSTM + linear fine-tune, with layered lrs and warmup + cosine (PyTorch).

The encoder is a tiny, randomly initialised ``transformers.BertModel`` (nothing is
downloaded); the data are generated. The groups and the schedule come from the bundled
recipe: encoder 1e-5, head 1e-2, no weight decay for bias and LayerNorm.

    python examples/torch_bert_layered_lr.py [--steps 30]
"""

from __future__ import annotations

import argparse

import torch
import transformers
from torch import nn

import schedcore as sc
import schedcore_torch as st
from schedcore.examples import BERT_RECIPE


class BertTest(nn.Module):
    def __init__(self, embedding_size: int = 8, hidden_size: int = 32) -> None:
        super().__init__()
        config = transformers.BertConfig(
            vocab_size=99, hidden_size=hidden_size, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=37, max_position_embeddings=64,
        )  # fmt: skip
        self.bert_model = transformers.BertModel(config)
        self.lstm = nn.LSTM(hidden_size, embedding_size, batch_first=True)
        self.drop_out = nn.Dropout(0.1)
        self.linear_layer = nn.Linear(embedding_size, hidden_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.bert_model(input_ids).last_hidden_state
        out, _ = self.lstm(hidden)
        return self.linear_layer(self.drop_out(out))


def main(argv: list[str] | None = None) -> list[list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = BertTest()
    recipe = sc.load(BERT_RECIPE)
    optimizer, scheduler = st.build(model, recipe, eps=1e-7)
    for group in optimizer.param_groups:  # named by the rules that formed them, in rule order
        print(f"{group['name']}: {len(group['params'])} params, lr {group['initial_lr']:g}, "
              f"weight_decay {group['weight_decay']:g}")  # fmt: skip

    inputs = torch.randint(0, 99, (4, 12))
    target = torch.randn(4, 12, 32)
    applied = []
    for step in range(args.steps):
        applied.append([g["lr"] for g in optimizer.param_groups])
        loss = nn.functional.mse_loss(model(inputs), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        if step % 10 == 0 or step == args.steps - 1:
            lrs = ", ".join(f"{lr:.3g}" for lr in applied[-1])
            print(f"step {step:3d}  loss {loss.item():.4f}  lr per group [{lrs}]")
    return applied


if __name__ == "__main__":
    main()
