"""Evaluate a trained run: `python -m zoo.evaluate --workdir=runs/aae_digits`.

Prints a table and writes <workdir>/eval.json (see zoo.evaluation for the metrics and protocol).
"""
from __future__ import annotations

from absl import app, flags

from zoo import cli

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "run directory written by zoo.train", required=True)
flags.DEFINE_integer("batch_size", 500, "evaluation batch size")


@cli.report_errors
def main(argv):
    from zoo import evaluation

    results = evaluation.evaluate(FLAGS.workdir, FLAGS.batch_size)
    print(evaluation.format_table(results))


if __name__ == "__main__":
    app.run(main)
