"""Runnable configurations reproducing the papers' figures and tables; each module gives its command."""
