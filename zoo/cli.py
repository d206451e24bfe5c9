"""What the absl entry points share: a quiet start, the config and strategy flags, and a main that
reports user errors in one line.

Commands are quiet: TensorFlow's C++ start-up lines (oneDNN notice, CUDA probing), its C++ logs and
the known-harmless warnings of tfds / absl do not reach the terminal. `ZOO_VERBOSITY=debug` in the
environment, or absl's own `--verbosity=1` (`-v 1`), lets everything through.
"""
from __future__ import annotations

import math
import os
import re
import sys

from absl import flags


def debug_requested(argv=None, environ=None) -> bool:
    """Whether the user asked for every log line: ZOO_VERBOSITY=debug or --verbosity / -v >= 1."""
    environ = os.environ if environ is None else environ
    if environ.get("ZOO_VERBOSITY", "").lower() == "debug":
        return True
    argv = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(argv):
        match = re.fullmatch(r"(?:--verbosity|-v)(?:=(-?\d+))?", arg)
        value = match and (match.group(1) or (argv[i + 1] if i + 1 < len(argv) else ""))
        if value and value.lstrip("-").isdigit() and int(value) >= 1:
            return True
    return False


def _quiet_start() -> None:
    """TensorFlow's C++ logging goes to stderr from the moment it loads, before
    TF_CPP_MIN_LOG_LEVEL is read for some of it (the CUDA stub's lines), so the import itself runs
    with file descriptor 2 on /dev/null; Python errors raised by it still show, after it."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


DEBUG = debug_requested()
if not DEBUG:
    _quiet_start()


def _quiet_libraries() -> None:
    """absl's warnings from tfds (deprecated dtype fields, folders without dataset_info.json) and
    tfds's progress bars stay out of a quiet command."""
    import tensorflow_datasets as tfds
    from absl import logging

    logging.set_verbosity(logging.ERROR)
    tfds.disable_progress_bar()


def report_errors(main):
    """Bad input (unknown names, missing data, corrupt files, wrong config) ends with one line on
    stderr and exit status 2, and so does a workdir another process trains in; a non-finite loss
    with status 1. Anything else is a bug: traceback."""

    def wrapped(argv):
        from zoo import data, training

        if not DEBUG:
            _quiet_libraries()
        try:
            return main(argv)
        except (ValueError, FileNotFoundError, data.DataNotFoundError, data.DataFormatError,
                training.WorkdirBusyError) as error:
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
