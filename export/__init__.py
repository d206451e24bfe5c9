"""The design card's top-level entry points for export and serving; the code is `zoo.export`.

    python -m export.saved_model --workdir=runs/aae_digits --export_dir=exported   # = python -m zoo.export
    python -m export.client --model_dir=exported/aae/1 --request=request.json     # = python -m zoo.export.client
"""
