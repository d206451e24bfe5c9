"""Speed and quality benchmarks that print ratios measured in one run."""
