"""The seed's keras-bert NER fine-tune with warmup and decay, on Keras 3 (no keras-bert).

The seed trains a BERT + BiLSTM (+ CRF) tagger with keras-bert's ``AdamWarmup``::

    total_steps, warmup_steps = calc_train_steps(num_example=len(input_train),
        batch_size=BATCH_SIZE, epochs=EPOCH, warmup_proportion=0.2)
    optimizer = AdamWarmup(total_steps, warmup_steps, lr=1e-4, min_lr=1e-7)

Here the encoder is one tiny, randomly initialised BERT-style block (token embeddings,
self-attention, LayerNorm, feed-forward; keras-bert's layer names), the CRF is a softmax
per token, and the data are generated: the tag of a token is its id's bucket. The two
lines above run unchanged with ``schedcore_keras``; weight decay, which keras-bert's
``warmup_v2`` silently ignored, applies to the variables ``weight_decay_pattern`` names.

    python examples/keras_bert_ner.py [--examples 256] [--epochs 3] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

from schedcore_keras import AdamWarmup, calc_train_steps

VOCAB, TAGS, SEQ_LEN, HIDDEN = 64, 5, 12, 16
# keras-bert's bert.py decays ["embeddings", "kernel", "W1", "W2", "Wk", "Wq", "Wv", "Wo"]
# (substrings of variable names); this model is built from Keras layers, whose weights are
# all "embeddings" or "kernel", and a pattern that matches no variable is an error
DECAY_PATTERN = ["embeddings", "kernel"]


def bert_bilstm_tagger(lstm_dim: int = 8) -> keras.Model:
    tokens = keras.Input((SEQ_LEN,), dtype="int32", name="Input-Token")
    x = keras.layers.Embedding(VOCAB, HIDDEN, name="Embedding-Token")(tokens)
    x = keras.layers.LayerNormalization(name="Embedding-Norm")(x)
    attention = keras.layers.MultiHeadAttention(
        num_heads=2, key_dim=HIDDEN // 2, name="Encoder-1-MultiHeadSelfAttention"
    )(x, x)
    x = keras.layers.LayerNormalization(name="Encoder-1-MultiHeadSelfAttention-Norm")(
        keras.layers.Add()([x, attention])
    )
    hidden = keras.layers.Dense(2 * HIDDEN, activation="gelu", name="Encoder-1-FeedForward")(x)
    hidden = keras.layers.Dense(HIDDEN, name="Encoder-1-FeedForward-Out")(hidden)
    x = keras.layers.LayerNormalization(name="Encoder-1-FeedForward-Norm")(
        keras.layers.Add()([x, hidden])
    )
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(lstm_dim, return_sequences=True), name="bilstm"
    )(x)
    tags = keras.layers.Dense(TAGS, activation="softmax", name="tags")(x)
    return keras.Model(tokens, tags, name="bert_bilstm_ner")


def generated_data(examples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, size=(examples, SEQ_LEN), dtype=np.int32)
    return tokens, tokens * TAGS // VOCAB  # the tag is the token's bucket


class AppliedLearningRates(keras.callbacks.Callback):
    """The lr each update applied (from the optimizer's schedule at that update)."""

    def on_train_begin(self, logs=None):
        self.lrs: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        opt = self.model.optimizer
        k = int(opt.iterations) - 1  # the update that just ran
        self.lrs.append(float(keras.ops.convert_to_numpy(opt.group_learning_rates(k))[0]))


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--min-lr", type=float, default=1e-7)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    x, y = generated_data(args.examples)

    total_steps, warmup_steps = calc_train_steps(
        num_example=len(x), batch_size=args.batch_size, epochs=args.epochs, warmup_proportion=0.2
    )
    optimizer = AdamWarmup(total_steps, warmup_steps, lr=args.lr, min_lr=args.min_lr,
                           weight_decay=0.01, weight_decay_pattern=DECAY_PATTERN)  # fmt: skip
    model = bert_bilstm_tagger()
    model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print(f"{total_steps} updates, {warmup_steps} of warmup (calc_train_steps)")

    applied = AppliedLearningRates()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0,
                        callbacks=[applied])  # fmt: skip
    decayed = [n for n, wd in zip(optimizer.plan.names, optimizer.plan.decay, strict=True) if wd]
    print(f"weight decay 0.01 on {len(decayed)} of {len(optimizer.plan.names)} variables, "
          f"e.g. {decayed[0]}")  # fmt: skip
    per_epoch = len(applied.lrs) // args.epochs
    for epoch in range(args.epochs):
        lrs = applied.lrs[epoch * per_epoch : (epoch + 1) * per_epoch]
        print(f"epoch {epoch + 1}  loss {history.history['loss'][epoch]:.4f}  "
              f"lr {lrs[0]:.3g} .. {lrs[-1]:.3g}")  # fmt: skip
    print("applied lrs:", ", ".join(f"{lr:.3g}" for lr in applied.lrs))
    return applied.lrs


if __name__ == "__main__":
    main()
