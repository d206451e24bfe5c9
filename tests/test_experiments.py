"""The paper-figure scripts run end to end on tiny runs."""
import os
import subprocess
import sys

import pytest

from zoo import registry, training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("preset", ["pixelgan/tiny_categorical", "pixelgan/tiny_semi_supervised"])
def test_pixelgan_fig6_and_fig7_draw_every_category(preset, tmp_path):
    """Fig. 6 (samples of each cluster) for a clustering run, Fig. 7 (of each class) for a semi-supervised one."""
    training.run(registry.resolve(preset_name=preset), str(tmp_path / "run"), verbose=0)
    out = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, "-m", "experiments.pixelgan_fig6", f"--workdir={tmp_path / 'run'}",
                             f"--out={out}", "--samples=2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0


def test_joint_probe_reads_a_cycleiae_run_and_replays_its_game(tmp_path):
    training.run(registry.resolve(preset_name="cycleiae/tiny", overrides=["steps=2"]), str(tmp_path / "run"), verbose=0)
    result = subprocess.run([sys.executable, "-m", "experiments.joint_probe", f"--workdir={tmp_path / 'run'}",
                             "--examples=8", "--steps=2", "--every=1"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "p_real_shuffled" in result.stdout and "own_over_other" in result.stdout
    assert result.stdout.count("| 1-1 |") == 1 and "| 2-2 |" in result.stdout


def test_iae_fig6_draws_every_cluster_with_shared_noise(tmp_path):
    config = registry.resolve(preset_name="iae/tiny", overrides=["code_size=0", "num_clusters=4", "adversarial=true"])
    training.run(config, str(tmp_path / "run"), verbose=0)
    out = tmp_path / "fig6.png"
    result = subprocess.run([sys.executable, "-m", "experiments.iae_fig6", f"--workdir={tmp_path / 'run'}",
                             f"--out={out}", "--samples=3"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0
    refused = subprocess.run([sys.executable, "-m", "experiments.pixelgan_fig6", f"--workdir={tmp_path / 'run'}"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "not a categorical pixelgan run" in refused.stderr


@pytest.mark.parametrize("figure", ["pixelgan_fig2", "pixelgan_fig3", "pixelgan_fig5", "iae_fig2", "fiae_fig13"])
def test_figure_scripts_train_their_runs_and_draw(figure, tmp_path):
    out = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, "-m", f"experiments.{figure}", "--dataset=digits", "--steps=2",
                             "--set=jit_compile=false", f"--workdir={tmp_path / 'runs'}", f"--out={out}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert out.stat().st_size > 0


def test_only_trains_and_shows_the_chosen_runs(tmp_path):
    command = [sys.executable, "-m", "experiments.iae_fig2", "--dataset=digits", "--steps=2", "--set=jit_compile=false",
               f"--workdir={tmp_path / 'runs'}", f"--out={tmp_path / 'figure.png'}"]
    result = subprocess.run(command + ["--only=deterministic"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [path.name for path in (tmp_path / "runs").iterdir()] == ["deterministic, 20-D code"]
    assert "| deterministic, 20-D code |" in result.stdout and "100-D noise |" not in result.stdout
    refused = subprocess.run(command + ["--only=nothing"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "matches none of the runs" in refused.stderr


@pytest.mark.parametrize("script,size,table_row", [("iae_fig5_mog", "--samples=500", "| IAE |"),
                                                   ("fiae_fig11_posteriors", "--draws=100", "| FIAE |")])
def test_toy_experiments_train_measure_and_draw(script, size, table_row, tmp_path):
    out = tmp_path / "figure.png"
    result = subprocess.run([sys.executable, "-m", f"experiments.{script}", "--steps=5", size, f"--out={out}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert table_row in result.stdout and out.stat().st_size > 0


def test_timed_runs_scale_a_resumed_run_and_results_merge_across_invocations(tmp_path):
    import dataclasses
    import json

    from experiments import runs

    config = registry.resolve(preset_name="aae/tiny")
    workdir = str(tmp_path / "run")
    training.run(dataclasses.replace(config, steps=2), workdir, verbose=0)  # a run cut off at step 2 of 4
    minutes = runs.timed_run(config, workdir)
    with open(os.path.join(workdir, "wall_seconds.json")) as f:
        timing = json.load(f)
    assert timing["steps_timed"] == 2 and minutes == pytest.approx(timing["train_seconds"] * 2 / 60)
    assert runs.timed_run(config, workdir) == minutes  # a finished run is not retrained or retimed

    path = str(tmp_path / "results.json")
    runs.merge_results(path, [{"row": "a", "seed": 0, "x": 1}, {"row": "b", "seed": 0, "x": 2}], key=("row", "seed"))
    merged = runs.merge_results(path, [{"row": "a", "seed": 0, "x": 3}], key=("row", "seed"))
    assert sorted((r["row"], r["x"]) for r in merged) == [("a", 3), ("b", 2)]


def test_fashion_mnist_table_runs_and_reports_collapse(tmp_path):
    result = subprocess.run([sys.executable, "-m", "experiments.fashion_mnist_table", "--family=aae",
                             "--dataset=digits",
                             "--settings=clustering", "--seeds=0", "--steps=2",
                             "--set=batch_size=8", "--set=labeled_batch_size=8", f"--workdir={tmp_path / 'runs'}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| clustering | clustering_error (%) |" in result.stdout and "clusters used " in result.stdout


def test_precision_table_trains_both_precisions_and_compares_them(tmp_path):
    result = subprocess.run([sys.executable, "-m", "experiments.precision_table", "--preset=aae/tiny",
                             "--seeds=0,1", "--steps=2", "--set=num_clusters=3", "--set=code_size=0",
                             f"--workdir={tmp_path / 'runs'}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert "clustering_error" in rows["precision"] and "| 2 | 2 x " in rows["float32"]
    assert "the seed spread" in rows["mixed_bfloat16"]
    assert sorted(os.listdir(tmp_path / "runs")) == ["float32_seed0", "float32_seed1", "mixed_bfloat16_seed0",
                                                     "mixed_bfloat16_seed1", "results.json"]


def test_the_table_takes_a_dataset_s_own_presets_and_shows_the_paper_beside():
    # In its own process: the script's flags would clash with other scripts' flags imported here.
    check = """
from experiments import fashion_mnist_table as table
assert table.preset_for("pixelgan", "mnist", "clustering") == "pixelgan/mnist_clustering"
assert table.preset_for("aae", "mnist", "semi_supervised") == "aae/mnist_semi_supervised"
assert table.preset_for("iae", "svhn_cropped", "clustering") == "iae/fashion_mnist_clustering"
rows = [{"setting": "labels100", "seed": s, "classification_error": e, "steps": 3000, "batch_size": 100}
        for s, e in ((0, 0.02), (1, 0.03))]
print(table.summarize(rows, table.PAPER["pixelgan", "mnist"]))
"""
    result = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| labels100 | classification_error (%) | 2.50 ± 0.71 | 1.08 ± 0.15 | 2 | 3000 x 100 |" in result.stdout


def test_cycle_table_measures_both_families_and_draws_fig8(tmp_path):
    out = tmp_path / "fig8.png"
    result = subprocess.run([sys.executable, "-m", "experiments.cycle_table", "--preset=tiny", "--dataset=digits_edges",
                             "--steps=2",
                             "--seeds=0",
                             "--examples=20", "--classifier_epochs=1", f"--workdir={tmp_path / 'runs'}",
                             f"--out={out}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "ZOO_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| cycleiae |" in result.stdout and "| cyclegan |" in result.stdout and out.stat().st_size > 0


def test_learned_prior_table_scores_conditional_priors_and_draws_figs_10_12(tmp_path):
    result = subprocess.run([sys.executable, "-m", "experiments.lp_table", "--dataset=digits", "--steps=2",
                             "--samples=100", "--seeds=0", "--rows=supervised,unsupervised", "--set=jit_compile=false",
                             "--score_data",
                             f"--workdir={tmp_path / 'runs'}", f"--figures_dir={tmp_path}"], cwd=REPO,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "ZOO_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| supervised | 16 |" in result.stdout and "| unsupervised | 16 |" in result.stdout
    assert "| data | 0 |" in result.stdout  # real training images, the scores' ceiling
    assert '"conditional_accuracy"' in result.stdout and '"category_error"' in result.stdout
    assert (tmp_path / "lpaae_fig10_supervised.png").stat().st_size > 0
    assert (tmp_path / "lpaae_fig12_unsupervised.png").stat().st_size > 0
    report = subprocess.run([sys.executable, "-m", "experiments.lp_table", "--report",
                             f"--workdir={tmp_path / 'runs'}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    assert "| supervised | 16 |" in report.stdout and "| 1 (0) |" in report.stdout
    out = tmp_path / "tsne.png"
    result = subprocess.run([sys.executable, "-m", "experiments.lpaae_tsne", "--examples=60",
                             f"--workdir={tmp_path / 'runs' / 'unsupervised_code16_seed0'}", f"--out={out}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"nearest_prior_category_error"' in result.stdout and out.stat().st_size > 0


def test_text_to_image_embeds_captions_and_scores_held_out_ones(tmp_path, minilm_dir):
    out = tmp_path / "text.png"
    result = subprocess.run([sys.executable, "-m", "experiments.text_to_image", "--dataset=digits", "--steps=2",
                             "--samples_per_caption=2", "--set=jit_compile=false", f"--workdir={tmp_path / 'run'}",
                             f"--out={out}"], cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "ZOO_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"held_out_caption_accuracy"' in result.stdout and out.stat().st_size > 0


def test_code_trace_reads_the_code_and_both_discriminators_every_chunk(tmp_path):
    workdir = tmp_path / "trace"
    result = subprocess.run([sys.executable, "-m", "experiments.code_trace", "--preset=iae/tiny", "--steps=4",
                             "--every=2", "--examples=100", "--set=code_size=0", "--set=num_clusters=4",
                             "--set=adversarial=true", f"--workdir={workdir}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert "d_joint_shuffled" in rows[0] and "code_gan_grad_cosine" in rows[0] and len(rows) == 3, result.stdout
    assert (workdir / "trace.png").stat().st_size > 0 and len((workdir / "trace.jsonl").read_text().splitlines()) == 2
    longer = subprocess.run([sys.executable, "-m", "experiments.code_trace", "--preset=iae/tiny", "--steps=6",
                             "--every=2", "--examples=100", "--set=code_size=0", "--set=num_clusters=4",
                             "--set=adversarial=true", f"--workdir={workdir}"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert longer.returncode == 0, longer.stderr[-3000:]
    steps = [line.split("|")[1].strip() for line in longer.stdout.splitlines() if line.startswith("| ")]
    assert steps == ["step", "2", "4", "6"], longer.stdout  # the earlier readings kept, one new
    refused = subprocess.run([sys.executable, "-m", "experiments.code_trace", "--preset=iae/tiny", "--steps=5",
                              "--every=2", f"--workdir={workdir}"], cwd=REPO, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode != 0 and "multiple of --every" in refused.stderr
