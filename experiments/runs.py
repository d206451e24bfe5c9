"""Run bookkeeping the table scripts share (no flags, so any script can import it): time a run,
keep results across invocations that run different rows side by side, and print mean ± std."""
from __future__ import annotations

import json
import os
import time


def timed_run(config, workdir: str) -> float | None:
    """Trains or resumes `config` in `workdir` and returns the run's training wall time in minutes.

    The steps this call trained are timed into <workdir>/wall_seconds.json; a run resumed from a
    checkpoint (numbered by step) is scaled from the steps timed to the whole run. None for a run
    trained before timing was kept."""
    import tensorflow as tf

    from zoo import training

    path = os.path.join(workdir, "wall_seconds.json")
    latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    start_step = int(latest.rsplit("-", 1)[1]) if latest else 0
    start = time.time()
    if training.run(config, workdir):  # {} when the run was already trained
        with open(path, "w") as f:
            json.dump({"train_seconds": time.time() - start, "steps_timed": config.steps - start_step}, f)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        timing = json.load(f)
    return timing["train_seconds"] / timing.get("steps_timed", config.steps) * config.steps / 60


def data_options(overrides: list[str]) -> dict:
    """The `source_dir` / `data_dir` that `--set` overrides give the runs, for a script's own reads of
    the dataset (test images, the scorer's training set), so they find the data where the runs do."""
    options = {}
    for item in overrides:
        key, _, value = (part.strip() for part in item.partition("="))
        if key in ("source_dir", "data_dir") and value:
            options[key] = value
    return options


def merge_results(path: str, results: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Writes `results` into the JSON list at `path`, replacing the entries with the same `key` values,
    and returns the merged list."""
    kept = []
    if os.path.exists(path):
        with open(path) as f:
            kept = json.load(f)
    new = {tuple(r[k] for k in key) for r in results}
    merged = [r for r in kept if tuple(r.get(k) for k in key) not in new] + results
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(merged, f, indent=2)
    return merged


def mean_std(values, digits: int = 3) -> str:
    """"mean ± std" (sample std, ddof 1) of a seed's values; the mean alone for one value (no spread
    from one seed), "-" for none."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    if not len(values):
        return "-"
    spread = f" ± {values.std(ddof=1):.{digits}f}" if len(values) > 1 else ""
    return f"{values.mean():.{digits}f}{spread}"


def preset_for(family: str, dataset: str, suffix: str, fallback: str = "") -> str:
    """`<family>/<dataset>_<suffix>` where the family has it (e.g. pixelgan/mnist_clustering), else
    `fallback` (default: the Fashion-MNIST preset of that suffix), which the runs then train on
    `dataset`."""
    from zoo import registry

    own = f"{family}/{dataset}_{suffix}"
    return own if own in registry.presets() else fallback or f"{family}/fashion_mnist_{suffix}"
