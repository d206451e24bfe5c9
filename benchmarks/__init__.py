"""Speed and quality benchmarks that print ratios measured in one run."""
from zoo import cli  # noqa: F401  (a quiet start: before any module of a command imports TensorFlow)
