"""What the figure scripts share: train a set of named runs (resumable; finished runs are reused)
and lay pictures out side by side."""
from __future__ import annotations

import os

from absl import flags

flags.DEFINE_string("workdir", "", "root directory of the runs")
flags.DEFINE_string("out", "", "PNG to write")
flags.DEFINE_integer("steps", None, "training steps per run (default: each preset's)")
flags.DEFINE_string("dataset", "fashion_mnist", "dataset of every run")
flags.DEFINE_integer("seed", 0, "run seed")
flags.DEFINE_multi_string("set", [], "extra config overrides for every run, e.g. --set=jit_compile=false")
flags.DEFINE_list("only", [], "train and show only the runs whose names start with one of these (default: all)")
FLAGS = flags.FLAGS


def train_runs(runs: dict[str, tuple[str, list[str]]], root: str) -> dict[str, str]:
    """name -> (preset, overrides): trains each run in <root>/<name> and returns name -> workdir."""
    from zoo import registry, training

    if FLAGS.only:
        chosen = {name: run for name, run in runs.items() if name.startswith(tuple(FLAGS.only))}
        if not chosen:
            raise ValueError(f"--only={','.join(FLAGS.only)} matches none of the runs: {', '.join(runs)}")
        runs = chosen
    workdirs = {}
    for name, (preset, overrides) in runs.items():
        config = registry.resolve(preset_name=preset, dataset=FLAGS.dataset, steps=FLAGS.steps, seed=FLAGS.seed,
                                  overrides=overrides + FLAGS.set)
        workdirs[name] = os.path.join(root, name)
        print(f"{name}: {preset} {' '.join(overrides)} -> {workdirs[name]}", flush=True)
        training.run(config, workdirs[name])
    return workdirs


def write(picture, default: str) -> None:
    from zoo import visualize

    path = FLAGS.out or default
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    visualize.save_png(picture, path)
    print(path)

