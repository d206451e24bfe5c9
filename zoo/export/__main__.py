"""`python -m zoo.export --workdir=RUN --export_dir=DIR`: a trained run as a SavedModel for TF Serving
(`zoo.export.saved_model`)."""
from absl import app

from zoo.export.saved_model import main

if __name__ == "__main__":
    app.run(main)
