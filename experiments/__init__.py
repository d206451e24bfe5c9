"""Runnable configurations reproducing the papers' figures and tables; each module gives its command."""
from zoo import cli  # noqa: F401  (a quiet start: before any module of a command imports TensorFlow)
