"""`python -m export.saved_model ...` runs `python -m zoo.export ...` (zoo/export/saved_model.py)."""
from absl import app

from zoo.export.saved_model import main

if __name__ == "__main__":
    app.run(main)
