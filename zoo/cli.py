"""What the absl entry points share: the config and strategy flags, and a main that reports user
errors in one line."""
from __future__ import annotations

import math
import os
import sys

from absl import flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def report_errors(main):
    """Bad input (unknown names, missing data, corrupt files, wrong config) ends with one line on
    stderr and exit status 2; a non-finite loss with status 1. Anything else is a bug: traceback."""

    def wrapped(argv):
        from absl import logging

        from zoo import data, training

        logging.set_verbosity(logging.WARNING)

        try:
            return main(argv)
        except (ValueError, FileNotFoundError, data.DataNotFoundError, data.DataFormatError) as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except training.NonFiniteLossError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)

    return wrapped


def define_config_flags() -> None:
    """The flags that name a config: preset or JSON file, then flags, then `--set key=value`."""
    flags.DEFINE_string("model", "", "model family, e.g. aae")
    flags.DEFINE_string("preset", "", "named preset <family>/<name>, e.g. aae/fashion_mnist_clustering")
    flags.DEFINE_string("config", "", "JSON config file (e.g. a tuner's best config or a workdir's config.json)")
    flags.DEFINE_string("dataset", None, "dataset name, e.g. digits, fashion_mnist")
    flags.DEFINE_multi_string("set", [], "config override key=value (repeatable), parsed as the field's type")
    flags.DEFINE_integer("steps", None, "training steps")
    flags.DEFINE_integer("epochs", None, "training epochs over the train split (instead of --steps)")
    flags.DEFINE_integer("batch_size", None, "global batch size")
    flags.DEFINE_integer("seed", None, "run seed")


def define_strategy_flags() -> None:
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multiworker"], "tf.distribute strategy")
    flags.DEFINE_integer("cpu_replicas", 0, "split the CPU into this many logical devices (for --strategy=mirrored "
                         "without GPUs)")


def resolve_from_flags():
    """The resolved config the config flags describe."""
    from zoo import configs, data, registry, training

    FLAGS = flags.FLAGS
    config = registry.resolve(model=FLAGS.model, preset_name=FLAGS.preset, config_file=FLAGS.config,
                              overrides=FLAGS.set, dataset=FLAGS.dataset, steps=FLAGS.steps,
                              batch_size=FLAGS.batch_size, seed=FLAGS.seed)
    if FLAGS.epochs is not None:
        if FLAGS.steps is not None:
            raise ValueError("give --steps or --epochs, not both")
        spec = data.spec(config.dataset, **training.data_options(config))
        steps = FLAGS.epochs * math.ceil(spec.num_examples["train"] / config.batch_size)
        config = configs.replace(config, steps=steps)
        config.validate()
    return config
