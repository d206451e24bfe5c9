"""A run's life on the command line and in its workdir: quiet start-up and step progress, one live
process per workdir, and a resume after `kill -9` that ends where an uninterrupted run ends with
every step logged once."""
import json
import os
import pty
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from zoo import cli, registry, training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "zoo.train", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, **kwargs)


def _weights(workdir):
    return {v.path: v.numpy() for v in training.restore(str(workdir))[2].weights}


def _logged_steps(workdir):
    return [json.loads(line)["step"] for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def _tensorboard_scalars(workdir):
    """(tag, step) of every scalar in the run's event files."""
    found = []
    for name in os.listdir(workdir / "tensorboard"):
        for record in tf.data.TFRecordDataset(str(workdir / "tensorboard" / name)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            found += [(value.tag, event.step) for value in event.summary.value if "image" not in value.tag]
    return found


# ------------------------------------------------------------------ the command line


def test_training_prints_step_progress_and_no_start_up_noise(tmp_path):
    result = _train(["--preset=aae/tiny", "--steps=4", f"--workdir={tmp_path / 'run'}"])
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["2/4", "4/4"]
    assert all("steps/s" in line and "ETA" in line and "discriminator_loss=" in line for line in lines)
    assert "Epoch" not in result.stdout
    # Nothing but the zoo's own lines: no C++ start-up logs, no library warnings.
    noise = [line for line in result.stderr.splitlines() if not line.startswith("preparing ")]
    assert noise == [], noise


def test_progress_on_a_terminal_is_one_live_line(tmp_path):
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "zoo.train", "--preset=aae/tiny", "--steps=4",
                                f"--workdir={tmp_path / 'run'}"], cwd=REPO, stdout=follower, stderr=subprocess.DEVNULL)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=600) == 0
    text = output.decode()
    assert "\r\x1b[K" + "step 4/4 [" + "#" * 20 + "]" in text
    assert text.count("\n") <= 3  # the live line and the closing "done:" line, not a line per chunk


@pytest.mark.parametrize("argv,environ,expected", [
    ([], {}, False), (["--verbosity=1"], {}, True), (["-v", "2"], {}, True), (["--verbosity=0"], {}, False),
    ([], {"ZOO_VERBOSITY": "debug"}, True), (["--verbosity=-1"], {"ZOO_VERBOSITY": "info"}, False),
])
def test_debug_logging_is_asked_for_by_flag_or_environment(argv, environ, expected):
    assert cli.debug_requested(argv, environ) is expected


# ------------------------------------------------------------------ one live run per workdir


def test_a_second_process_on_a_live_workdir_is_refused(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    with training.hold_workdir(str(workdir)):
        result = _train(["--preset=aae/tiny", "--steps=2", f"--workdir={workdir}"])
        with pytest.raises(training.WorkdirBusyError, match=f"process {os.getpid()} "):
            training.run(registry.resolve(preset_name="aae/tiny", steps=2), str(workdir), verbose=0)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"is in use: process {os.getpid()} on " in result.stderr
    assert not (workdir / "checkpoints").exists()
    # Released: the next run trains.
    training.run(registry.resolve(preset_name="aae/tiny", steps=2), str(workdir), verbose=0)
    assert _logged_steps(workdir) == [2]


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / training.LOCK_FILE).write_text("process 999999 on elsewhere (since 2020-01-01T00:00:00+00:00)\n")
    training.run(registry.resolve(preset_name="aae/tiny", steps=2), str(workdir), verbose=0)
    assert _logged_steps(workdir) == [2]


# ------------------------------------------------------------------ kill -9, then resume


@pytest.mark.parametrize("preset", ["aae/tiny", "iae/tiny"])
def test_kill_then_resume_gives_the_uninterrupted_weights_and_logs_each_step_once(tmp_path, preset):
    steps, every = ["log_every=1", "checkpoint_every=3"], 30
    config = registry.resolve(preset_name=preset, steps=every, overrides=steps)
    uninterrupted = tmp_path / "uninterrupted"
    training.run(config, str(uninterrupted), verbose=0)

    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "zoo.train", f"--preset={preset}", "--steps=100000",
                                *(f"--set={s}" for s in steps), f"--workdir={killed}"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if (killed / "metrics.jsonl").exists() and (killed / "metrics.jsonl").read_text().count("\n") >= 4:
            break  # past the first checkpoint (step 3), with steps logged after it
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    logged_before = (killed / "metrics.jsonl").read_text().count("\n")
    assert 4 <= logged_before < every, logged_before
    assert (killed / training.LOCK_FILE).read_text()  # left behind by the dead process

    training.run(config, str(killed), verbose=0)
    a, b = _weights(uninterrupted), _weights(killed)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a), [k for k in a if not np.array_equal(a[k], b[k])]
    assert _logged_steps(killed) == list(range(1, every + 1))
    scalars = _tensorboard_scalars(killed)
    assert len(scalars) == len(set(scalars)) and scalars
    assert sorted(scalars) == sorted(_tensorboard_scalars(uninterrupted))
