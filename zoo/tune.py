"""Tune a model's sizes with Keras Tuner:

    python -m zoo.tune --model=aae --dataset=digits --tune=code_size,noise_size --max_trials=8

The base config comes from the same flags as `zoo.train` (`--preset`, `--config`, `--set`, `--steps`
per trial, ...). `--tune` names fields of the family's declared search space (omitted: the
family's default, e.g. code and noise sizes). The objective is a validation error (`--objective`);
the best config lands in `<workdir>/best_config.json`: `python -m zoo.train --config=<that file>`
retrains it. Run the same command again to continue an interrupted search. See zoo.tuning.
"""
from __future__ import annotations

from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
cli.define_config_flags()
cli.define_strategy_flags()
flags.DEFINE_list("tune", [], "config fields to search (default: the family's DEFAULT_TUNE)")
flags.DEFINE_enum("tuner", "random", ["random", "hyperband", "bayesian"], "Keras Tuner oracle")
flags.DEFINE_integer("max_trials", 10, "trials for random / bayesian search")
flags.DEFINE_integer("hyperband_max_epochs", 3, "hyperband: the full budget --steps is this many 'epochs'")
flags.DEFINE_string("objective", "", "validation error to minimize: reconstruction_error, clustering_error, "
                    "hungarian_error, classification_error or bits_per_dim (default: classification error with labels, "
                    "clustering error with a categorical code, else the family's first validation metric)")
flags.DEFINE_string("workdir", "", "search directory; default runs/tune_<model>_<dataset>")


@cli.report_errors
def main(argv):
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {' '.join(argv[1:])}")
    from zoo import evaluation, training, tuning

    strategy = training.make_strategy(FLAGS.strategy, FLAGS.cpu_replicas)
    config = cli.resolve_from_flags()
    names = FLAGS.tune or list(type(config).DEFAULT_TUNE)
    workdir = FLAGS.workdir or f"runs/tune_{config.model}_{config.dataset}"
    objective = FLAGS.objective or evaluation.default_objective(config)
    best, score = tuning.search(config, names, workdir, objective, FLAGS.tuner, FLAGS.max_trials,
                                FLAGS.hyperband_max_epochs, strategy)
    changed = {name: getattr(best, name) for name in names}
    print(f"best: {objective}={score:.4f} with {changed}")
    print(f"best config: {workdir}/best_config.json (retrain: python -m zoo.train --config={workdir}/best_config.json)")


if __name__ == "__main__":
    app.run(main)
