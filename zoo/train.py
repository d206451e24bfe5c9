"""Train a model: `python -m zoo.train --model=aae --dataset=digits --workdir=runs/aae_digits`.

Flags -> config (preset or JSON file, then flags, then `--set key=value`) -> `zoo.training.run`.
`python -m zoo.train --list` prints the models, presets and datasets.
"""
from __future__ import annotations

import math

from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("model", "", "model family, e.g. aae")
flags.DEFINE_string("preset", "", "named preset <family>/<name>, e.g. aae/fashion_mnist_clustering")
flags.DEFINE_string("config", "", "JSON config file (e.g. a tuner's best config or a workdir's config.json)")
flags.DEFINE_string("dataset", None, "dataset name, e.g. digits, fashion_mnist")
flags.DEFINE_multi_string("set", [], "config override key=value (repeatable), parsed as the field's type")
flags.DEFINE_string("workdir", "", "run directory; default runs/<model>_<dataset>")
flags.DEFINE_integer("steps", None, "training steps")
flags.DEFINE_integer("epochs", None, "training epochs over the train split (instead of --steps)")
flags.DEFINE_integer("batch_size", None, "global batch size")
flags.DEFINE_integer("seed", None, "run seed")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multiworker"], "tf.distribute strategy")
flags.DEFINE_integer("cpu_replicas", 0, "split the CPU into this many logical devices (for --strategy=mirrored without GPUs)")
flags.DEFINE_bool("list", False, "list models, presets and datasets, then exit")


def resolve_from_flags():
    from zoo import data, registry

    config = registry.resolve(model=FLAGS.model, preset_name=FLAGS.preset, config_file=FLAGS.config,
                              overrides=FLAGS.set, dataset=FLAGS.dataset, steps=FLAGS.steps,
                              batch_size=FLAGS.batch_size, seed=FLAGS.seed)
    if FLAGS.epochs is not None:
        if FLAGS.steps is not None:
            raise ValueError("give --steps or --epochs, not both")
        from zoo import configs, training

        spec = data.spec(config.dataset, **training.data_options(config))
        steps = FLAGS.epochs * math.ceil(spec.num_examples["train"] / config.batch_size)
        config = configs.replace(config, steps=steps)
        config.validate()
    return config


@cli.report_errors
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {' '.join(argv[1:])}")
    from zoo import data, registry, training

    if FLAGS.list:
        print("models:  ", ", ".join(registry.families()))
        print("presets: ", ", ".join(registry.presets()))
        print("datasets:", ", ".join(data.DATASETS))
        return
    strategy = training.make_strategy(FLAGS.strategy, FLAGS.cpu_replicas)
    config = resolve_from_flags()
    workdir = FLAGS.workdir or f"runs/{config.model}_{config.dataset}"
    logs = training.run(config, workdir, strategy)
    print(f"done: {workdir} (step {config.steps}) " + " ".join(f"{k}={v:.4f}" for k, v in logs.items()))


if __name__ == "__main__":
    app.run(main)
