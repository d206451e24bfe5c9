"""Model families; importing this package registers every family and its presets."""
from zoo.models import aae, cyclegan, cycleiae, fiae, iae, infogan, lpaae, pixelcnn, pixelgan, vae, vampprior  # noqa: F401
