"""The inference service's own example through the package: its model (one row of weights per
output) and its input_data give 3.5; fitted scikit-learn models run on encrypted features."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import paillier_gpu as pg


@pytest.fixture(scope="module")
def keys():
    return pg.generate_paillier_keypair(n_length=512, insecure=True)


def test_the_services_example_gives_its_answer(keys, tmp_path):
    pk, sk = keys
    model = pg.LinearModel.from_json('{"weights": [[0.1, 0.2, 0.3, 0.4]], "biases": [0.5]}')
    assert (model.inputs, model.outputs) == (4, 1)
    y = sk.decrypt_array(model.infer(pk.encrypt_array([[1.0, 2.0, 3.0, 4.0]])))
    assert y.shape == (1, 1)
    assert y[0, 0] == pytest.approx(3.5, abs=1e-12)
    # The same from a file, and numpy's x @ W when asked by name.
    (tmp_path / "model.json").write_text('{"weights": [[0.1], [0.2], [0.3], [0.4]], "biases": [0.5]}')
    with pytest.raises(pg.ShapeMismatchError, match="per_input"):
        pg.LinearModel.load(tmp_path / "model.json")
    numpy_layout = pg.LinearModel.load(tmp_path / "model.json", weight_rows="per_input")
    y = sk.decrypt_array(numpy_layout.infer(pk.encrypt_array([[1.0, 2.0, 3.0, 4.0]])))
    assert y[0, 0] == pytest.approx(3.5, abs=1e-12)


def test_fitted_scikit_learn_models_run_on_encrypted_features(keys):
    pk, sk = keys
    rng = np.random.default_rng(45)
    x = rng.normal(size=(40, 5))
    labels = (x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) > 0.2).astype(int)
    classifier = LogisticRegression().fit(x, labels)
    model = pg.LinearModel.from_sklearn(classifier)
    assert (model.inputs, model.outputs) == (5, 1)
    scores = sk.decrypt_array(model.infer(pk.encrypt_array(x)))
    assert np.allclose(scores[:, 0], classifier.decision_function(x), atol=1e-9)
    assert np.array_equal((scores[:, 0] > 0).astype(int), classifier.predict(x))

    three_classes = LogisticRegression().fit(x, rng.integers(0, 3, size=40))
    model = pg.LinearModel.from_sklearn(three_classes)
    scores = sk.decrypt_array(model.infer(pk.encrypt_array(x)))
    assert np.allclose(scores, three_classes.decision_function(x), atol=1e-9)

    targets = x @ rng.normal(size=(5, 2)) + 0.25
    regression = LinearRegression().fit(x, targets)
    model = pg.LinearModel.from_sklearn(regression)
    assert np.allclose(sk.decrypt_array(model.infer(pk.encrypt_array(x))), regression.predict(x), atol=1e-9)
    single = LinearRegression(fit_intercept=False).fit(x, targets[:, 0])
    model = pg.LinearModel.from_sklearn(single)
    assert np.allclose(sk.decrypt_array(model.infer(pk.encrypt_array(x)))[:, 0], single.predict(x), atol=1e-9)

    with pytest.raises(pg.InvalidInputError, match="coef_"):
        pg.LinearModel.from_sklearn(LogisticRegression())
