"""Keras Tuner over the zoo: the search space comes from the family's declaration, the objective is
a validation error, the best config retrains, an interrupted search continues, Hyperband's promoted
trials continue their parent's run."""
import json
import os
import subprocess
import sys

import pytest

from zoo import registry, training, tuning

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_space_is_the_family_declaration():
    config = registry.preset("aae/tiny")
    space = tuning.search_space(config, ["code_size", "widths", "learning_rate"])
    assert {hp.name for hp in space.space} == {"code_size", "widths", "learning_rate"}
    values = {"code_size": 7, "widths": "256,256", "learning_rate": 0.003, "tuner/epochs": 2}
    trial = tuning.trial_config(config, values)
    assert (trial.code_size, trial.widths, trial.learning_rate) == (7, (256, 256), 0.003)
    with pytest.raises(ValueError, match="cannot tune nope for model 'aae'; tunable: batch_size, code_size"):
        tuning.search_space(config, ["nope"])


def test_objective_must_be_a_validation_error(tmp_path):
    with pytest.raises(ValueError, match="objective 'discriminator_loss' is not reported.*reconstruction_error"):
        tuning.search(registry.preset("aae/tiny"), ["code_size"], str(tmp_path), objective="discriminator_loss")


def test_two_trial_search_writes_a_best_config_that_retrains(tmp_path):
    search = tmp_path / "search"
    result = run_module("zoo.tune", "--preset=aae/tiny_clustering", "--tune=code_size,noise_size", "--max_trials=2",
                        f"--workdir={search}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best: clustering_error=" in result.stdout
    trials = json.loads((search / "trials.json").read_text())
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    best = json.loads((search / "best_config.json").read_text())
    best_trial = min(trials, key=lambda t: t["clustering_error"])
    assert (best["code_size"], best["noise_size"]) == (best_trial["code_size"], best_trial["noise_size"])
    for trial in trials:  # every trial is a full run with its TensorBoard logs and HParams entry
        events = [f for _, _, files in os.walk(search / "trials" / trial["trial"]) for f in files
                  if f.startswith("events.out.tfevents")]
        assert len(events) >= 2, trial
    retrain = run_module("zoo.train", f"--config={search / 'best_config.json'}", f"--workdir={tmp_path / 'retrain'}")
    assert retrain.returncode == 0, retrain.stderr[-3000:]
    assert json.loads((tmp_path / "retrain" / "config.json").read_text()) == best


def test_interrupted_search_continues(tmp_path, monkeypatch):
    base = registry.preset("aae/tiny")
    real_run, calls = training.run, []

    def run_then_die(config, workdir, *args, **kwargs):
        calls.append(workdir)
        real_run(config, workdir, *args, **kwargs)
        raise KeyboardInterrupt  # killed after training, before the trial was reported

    monkeypatch.setattr(training, "run", run_then_die)
    with pytest.raises(KeyboardInterrupt):
        tuning.search(base, ["code_size"], str(tmp_path), max_trials=2, verbose=0)
    monkeypatch.setattr(training, "run", lambda *a, **k: (calls.append(a[1]), real_run(*a, **k))[1])
    tuning.search(base, ["code_size"], str(tmp_path), max_trials=2, verbose=0)
    # The interrupted trial ran again in its own directory (so from its checkpoint), then one more.
    assert calls[0] == calls[1] and len(set(calls)) == 2
    assert sorted(os.listdir(tmp_path / "trials")) == sorted(os.path.basename(c) for c in set(calls))
    assert len(json.loads((tmp_path / "trials.json").read_text())) == 2


def test_another_search_in_the_same_directory_is_refused(tmp_path):
    base = registry.preset("aae/tiny")
    tuning.search(base, ["code_size"], str(tmp_path), max_trials=1, verbose=0)
    with pytest.raises(ValueError, match="holds another search"):
        tuning.search(base, ["noise_size"], str(tmp_path), max_trials=1, verbose=0)


def test_hyperband_promotions_continue_their_parent(tmp_path):
    base = registry.resolve(preset_name="aae/tiny", steps=6, overrides=["log_every=1", "checkpoint_every=1",
                                                                         "image_every=6"])
    tuning.search(base, ["code_size"], str(tmp_path), tuner="hyperband", hyperband_max_epochs=3, verbose=0)
    promoted = 0
    for trial_json in (tmp_path / "keras_tuner").glob("trial_*/trial.json"):
        values = json.loads(trial_json.read_text())["hyperparameters"]["values"]
        if values.get("tuner/trial_id"):
            promoted += 1
            steps = [json.loads(line)["step"] for line in
                     (tmp_path / "trials" / values["tuner/trial_id"]).joinpath(
                         "metrics.jsonl").read_text().splitlines()]
            child = [json.loads(line)["step"] for line in
                     (tmp_path / "trials" / json.loads(trial_json.read_text())["trial_id"]).joinpath(
                         "metrics.jsonl").read_text().splitlines()]
            assert child[:len(steps)] == steps and child[-1] == values["tuner/epochs"] * 2
    assert promoted


def test_failing_trials_are_reported_not_raised(tmp_path):
    # Semi-supervised AAEs need as many clusters as classes: other choices are failed trials.
    config, score = tuning.search(registry.preset("aae/tiny_semi_supervised"), ["num_clusters"], str(tmp_path),
                                  max_trials=4, verbose=0)
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert config.num_clusters == 10 and score is not None
    assert {t["status"] for t in trials if t["num_clusters"] != 10} <= {"FAILED"}


def test_autoregressive_families_tune_on_bits_per_dim(tmp_path):
    config, score = tuning.search(registry.preset("pixelcnn/tiny"), ["features"], str(tmp_path), max_trials=1,
                                  objective="bits_per_dim", verbose=0)
    assert score > 0 and config.model == "pixelcnn"
