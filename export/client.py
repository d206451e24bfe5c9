"""`python -m export.client ...` runs `python -m zoo.export.client ...` (zoo/export/client.py)."""
import sys

from zoo.export.client import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
