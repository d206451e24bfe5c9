"""Train a model: `python -m zoo.train --model=aae --dataset=digits --workdir=runs/aae_digits`.

Flags -> config (preset or JSON file, then flags, then `--set key=value`) -> `zoo.training.run`.
`python -m zoo.train --list` prints the models, presets and datasets.
"""
from __future__ import annotations

from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
cli.define_config_flags()
cli.define_strategy_flags()
flags.DEFINE_string("workdir", "", "run directory; default runs/<model>_<dataset>")
flags.DEFINE_bool("list", False, "list models, presets and datasets, then exit")


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
    config = cli.resolve_from_flags()
    workdir = FLAGS.workdir or f"runs/{config.model}_{config.dataset}"
    logs = training.run(config, workdir, strategy)
    print(f"done: {workdir} (step {config.steps}) " + " ".join(f"{k}={v:.4f}" for k, v in logs.items()))


if __name__ == "__main__":
    app.run(main)
