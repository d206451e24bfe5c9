"""What the absl entry points share: run a main that reports user errors in one line."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def report_errors(main):
    """Bad input (unknown names, missing data, corrupt files, wrong config) ends with one line on
    stderr and exit status 2; a non-finite loss with status 1. Anything else is a bug: traceback."""

    def wrapped(argv):
        from absl import logging

        from zoo import data, training

        logging.set_verbosity(logging.WARNING)

        try:
            return main(argv)
        except (ValueError, FileNotFoundError, data.DataNotFoundError, data.DataFormatError) as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except training.NonFiniteLossError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(1)

    return wrapped
