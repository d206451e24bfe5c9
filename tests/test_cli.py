"""The command lines as users run them: clear one-line errors for bad input, train -> evaluate,
and a run killed mid-way that resumes."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def zoo(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def assert_user_error(result, message):
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--model=nope"], "error: unknown model 'nope'; known models: aae"),
    (["--preset=aae/nope"], "error: unknown preset 'aae/nope'; known presets:"),
    (["--model=aae", "--dataset=nope"], "error: unknown dataset 'nope'; known datasets: digits, fashion_mnist"),
    (["--model=aae", "--set=nope=1"], "error: unknown config key(s) nope for model 'aae'; known keys:"),
    (["--model=aae", "--set=steps=ten"], "error: --set steps='ten': cannot parse as int"),
])
def test_bad_names_and_values(args, message, tmp_path):
    assert_user_error(zoo("zoo.train", *args, f"--workdir={tmp_path}"), message)


def test_missing_data_directory_says_what_to_install(tmp_path):
    result = zoo("zoo.train", "--model=aae", "--dataset=fashion_mnist", f"--set=source_dir={tmp_path}/absent",
                 f"--workdir={tmp_path}/run")
    assert_user_error(result, f"{tmp_path}/absent")
    assert "dataset-fashion-mnist" in result.stderr


def test_corrupt_idx_file_is_named(tmp_path):
    source = tmp_path / "idx"
    source.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        with gzip.open(source / f"{name}.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x03 not an idx file")
    result = zoo("zoo.train", "--model=aae", "--dataset=fashion_mnist", f"--set=source_dir={source}",
                 f"--set=data_dir={tmp_path}/tfds", f"--workdir={tmp_path}/run")
    assert_user_error(result, "idx3-ubyte")


def test_train_then_evaluate(tmp_path):
    workdir = tmp_path / "run"
    result = zoo("zoo.train", "--preset=aae/tiny_clustering", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done:" in result.stdout
    result = zoo("zoo.evaluate", f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((workdir / "eval.json").read_text())
    assert "clustering_error" in result.stdout and 0 <= report["clustering_error"] <= 1


def test_epochs_become_steps(tmp_path):
    result = zoo("zoo.train", "--preset=aae/tiny", "--epochs=1", "--batch_size=100", "--set=log_every=1",
                 "--set=checkpoint_every=13", "--set=image_every=13", f"--workdir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "config.json").read_text())["steps"] == 13  # ceil(1297 / 100)


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    workdir = tmp_path / "run"
    args = ["zoo.train", "--preset=aae/tiny", f"--workdir={workdir}", "--set=image_every=100000"]
    process = subprocess.Popen([sys.executable, "-m", *args, "--steps=100000"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = workdir / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not (checkpoints.exists()
                                          and any(f.endswith(".index") for f in os.listdir(checkpoints))):
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    steps = [json.loads(line)["step"] for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert steps, "the run wrote no metrics before it was killed"
    resumed = zoo(*args, f"--steps={steps[-1] + 4}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "from step" in resumed.stdout
    final = [json.loads(line)["step"] for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert final[-1] == steps[-1] + 4


def test_mirrored_on_cpu_replicas_from_the_command_line(tmp_path):
    """XLA requested: on logical CPU devices it cannot run and is turned off, so the run compares
    with a plain (non-XLA) single-device run: the two draw their random numbers alike."""
    args = ["zoo.train", "--preset=aae/tiny", "--set=image_every=4"]
    single = zoo(*args, f"--workdir={tmp_path / 'single'}")
    mirrored = zoo(*args, "--set=jit_compile=true", "--strategy=mirrored", "--cpu_replicas=2",
                   f"--workdir={tmp_path / 'mirrored'}")
    assert single.returncode == 0 and mirrored.returncode == 0, mirrored.stderr[-3000:]
    def last(run):
        return json.loads((tmp_path / run / "metrics.jsonl").read_text().splitlines()[-1])
    for key, value in last("single").items():
        assert last("mirrored")[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
