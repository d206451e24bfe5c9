"""Keras Tuner over any registered family: `search(config, names, ...)` behind `zoo.tune`.

The search space is the family config's own declaration (`Config.TUNABLE`: field -> IntRange /
FloatRange / Choice), so a family added later is tunable by declaring it. Each trial is a complete
zoo run in `<directory>/trials/<trial id>/` (config.json, checkpoints, TensorBoard logs: point
TensorBoard at `<directory>/trials` for every trial's curves and the HParams dashboard), scored by
an error `zoo.evaluation` computes on the validation split (reconstruction, clustering or
classification error), never a GAN loss. Keras Tuner keeps the search state in
`<directory>/keras_tuner/`: started again on the same directory, a search continues (an interrupted
trial is run again under its own id and so resumes from its checkpoint). The best trial's config
is written to `<directory>/best_config.json`, which `zoo.train --config=` retrains.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil

import keras_tuner
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from zoo import configs, evaluation, training

TUNERS = {"random": keras_tuner.oracles.RandomSearchOracle,
          "hyperband": keras_tuner.oracles.HyperbandOracle,
          "bayesian": keras_tuner.oracles.BayesianOptimizationOracle}


def search_space(config: configs.Config, names: list[str]) -> keras_tuner.HyperParameters:
    """Keras Tuner hyperparameters for the named fields of the config's declared space."""
    tunable = type(config).TUNABLE
    unknown = [name for name in names if name not in tunable]
    if unknown or not names:
        raise ValueError(f"cannot tune {', '.join(unknown) or 'nothing'} for model '{config.model}'; "
                         f"tunable: {', '.join(sorted(tunable))}")
    space = keras_tuner.HyperParameters()
    for name in names:
        declared = tunable[name]
        if isinstance(declared, configs.IntRange):
            space.Int(name, declared.low, declared.high, sampling="log" if declared.log else "linear")
        elif isinstance(declared, configs.FloatRange):
            space.Float(name, declared.low, declared.high, sampling="log" if declared.log else "linear")
        else:  # Keras Tuner choices are scalars: tuples travel as their `--set` text
            space.Choice(name, [_encode(value) for value in declared.values])
    return space


def _encode(value):
    return ",".join(map(str, value)) if isinstance(value, tuple) else value


def trial_config(base: configs.Config, values: dict, steps: int | None = None) -> configs.Config:
    """`base` with a trial's values ("tuner/..." entries are Keras Tuner's own bookkeeping)."""
    types = configs.field_types(type(base))
    changes = {name: configs.parse_value(value, types[name], name) if isinstance(value, str) and types[name] is not str
               else value for name, value in values.items() if not name.startswith("tuner/")}
    if steps is not None:
        changes["steps"] = steps
    return configs.replace(base, **changes)


class ZooTuner(keras_tuner.Tuner):
    """A Keras Tuner whose trial is a zoo training run plus a validation evaluation."""

    def __init__(self, base: configs.Config, objective: str, tuner: str, directory: str, max_trials: int,
                 names: list[str], hyperband_max_epochs: int = 3, strategy=None, verbose="auto"):
        configs.check_choice("tuner", tuner, TUNERS)
        available = evaluation.metric_names(base)
        if objective not in available:
            raise ValueError(f"objective '{objective}' is not reported for this config; "
                             f"available: {', '.join(available)}")
        options = dict(objective=keras_tuner.Objective(objective, "min"), hyperparameters=search_space(base, names),
                       seed=base.seed, tune_new_entries=False,
                       # A combination the family rejects is a failed trial, not a reason to stop the
                       # search (Keras Tuner's default gives up after 3 failures in a row).
                       max_consecutive_failed_trials=max(3, max_trials))
        if tuner == "hyperband":
            # Budget in "epochs" of base.steps / max_epochs steps each; a promoted trial continues
            # its parent's run.
            options.update(max_epochs=hyperband_max_epochs, factor=3)
        else:
            options.update(max_trials=max_trials)
        super().__init__(oracle=TUNERS[tuner](**options), directory=directory, project_name="keras_tuner",
                         overwrite=False)
        self.base, self.objective_name, self.root = base, objective, directory
        self.steps_per_epoch = math.ceil(base.steps / hyperband_max_epochs)
        self.strategy, self.verbose = strategy, verbose

    def trial_dir(self, trial_id: str) -> str:
        return os.path.join(self.root, "trials", trial_id)

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        steps = values["tuner/epochs"] * self.steps_per_epoch if "tuner/epochs" in values else None
        try:
            config = trial_config(self.base, values, steps)
            config.validate()
        except ValueError as error:  # a combination the family rejects: a failed trial, not a crash
            raise keras_tuner.errors.FailedTrialError(str(error)) from None
        workdir = self.trial_dir(trial.trial_id)
        parent = values.get("tuner/trial_id")
        if parent and not os.path.exists(workdir):  # Hyperband promotion: continue the parent's run
            shutil.copytree(self.trial_dir(parent), workdir, ignore=shutil.ignore_patterns("tensorboard"))
        print(f"trial {trial.trial_id}: "
              + ", ".join(f"{k}={v}" for k, v in values.items() if not k.startswith("tuner/")))
        try:
            training.run(config, workdir, self.strategy, verbose=self.verbose)
        except (training.NonFiniteLossError, ValueError) as error:  # diverged, or a model that cannot be built
            raise keras_tuner.errors.FailedTrialError(str(error)) from None
        results = evaluation.evaluate(workdir, split="validation")
        self._write_hparams(workdir, config, values, results)
        return {name: results[name] for name in evaluation.metric_names(config)}

    def _write_hparams(self, workdir, config, values, results) -> None:
        """The trial's values and validation errors for TensorBoard's HParams dashboard."""
        with tf.summary.create_file_writer(os.path.join(workdir, "tensorboard", "hparams")).as_default():
            hparams_api.hparams({name: _encode(getattr(config, name)) for name in values
                                 if not name.startswith("tuner/")},
                                trial_id=os.path.basename(workdir))
            for name in evaluation.metric_names(config):
                tf.summary.scalar(f"validation/{name}", results[name], step=config.steps)

    def best(self) -> tuple[configs.Config, float]:
        """The best completed trial's config (as it trained) and its objective value."""
        trials = self.oracle.get_best_trials(1)
        if not trials or trials[0].score is None:
            raise ValueError(f"no trial completed: {self._failures()}")
        best = trials[0]
        return training.read_config(self.trial_dir(best.trial_id)), best.score

    def _failures(self) -> str:
        messages = [f"trial {t.trial_id}: {(t.message or '').strip().splitlines()[-1]}"
                    for t in self.oracle.trials.values() if t.message]
        return "; ".join(messages) or "none ran"

    def summary_rows(self) -> list[dict]:
        rows = []
        for trial in sorted(self.oracle.trials.values(), key=lambda t: t.trial_id):
            values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
            rows.append({"trial": trial.trial_id, "status": trial.status, self.objective_name: trial.score, **values})
        return rows


def search(base: configs.Config, names: list[str], directory: str, objective: str = "reconstruction_error",
           tuner: str = "random", max_trials: int = 10, hyperband_max_epochs: int = 3, strategy=None,
           verbose="auto") -> tuple[configs.Config, float]:
    """Runs (or continues) a search; writes and returns the best config and its objective value."""
    os.makedirs(directory, exist_ok=True)
    _check_same_search(directory, base, names, objective, tuner)
    zoo_tuner = ZooTuner(base, objective, tuner, directory, max_trials, names, hyperband_max_epochs, strategy, verbose)
    try:
        zoo_tuner.search()
    except RuntimeError as error:  # Keras Tuner gives up after consecutive failed trials
        raise ValueError(f"{error}: {zoo_tuner._failures()}") from None
    config, score = zoo_tuner.best()
    with open(os.path.join(directory, "best_config.json"), "w") as f:
        f.write(config.to_json())
    with open(os.path.join(directory, "trials.json"), "w") as f:
        json.dump(zoo_tuner.summary_rows(), f, indent=2)
    return config, score


def _check_same_search(directory: str, base, names, objective, tuner) -> None:
    """A directory holds one search: continuing it with another base config or space would mix
    incomparable trials."""
    path = os.path.join(directory, "search.json")
    description = {"base": dataclasses.asdict(base), "tune": sorted(names), "objective": objective, "tuner": tuner}
    description = json.loads(json.dumps(description))  # tuples -> lists, as read back
    if os.path.exists(path):
        with open(path) as f:
            previous = json.load(f)
        differing = sorted(k for k in description if description[k] != previous.get(k))
        if differing:
            raise ValueError(f"{directory} holds another search (different {', '.join(differing)}); "
                             "use another --workdir")
    with open(path, "w") as f:
        json.dump(description, f, indent=2)
