"""Encrypted numbers: python-paillier's encoding to the bit, exact arithmetic, interop with
`phe` both ways (keys, ciphertexts, +, *, the linear layer) and clear errors on bad input."""

from fractions import Fraction

import numpy as np
import pytest
from phe import paillier
from phe.encoding import EncodedNumber

import paillier_gpu as pg


@pytest.fixture(scope="module")
def keys():
    return pg.generate_paillier_keypair(n_length=512, insecure=True)


def exact(values):
    return [Fraction(v) for v in np.asarray(values).ravel().tolist()]


def test_encoding_matches_phe(keys):
    pk, sk = keys
    ppk, psk = pk.to_phe(), sk.to_phe()
    values = [0.0, 1.0, -1.0, 0.1, -1234.5678, 3.0e-7, 2.0**60, 7, -9, 123456789]
    for v in values:
        ours = pk.encrypt_array([v]).to_phe()[0]
        theirs = EncodedNumber.encode(ppk, v)
        assert ours.exponent == theirs.exponent, v
        assert psk.raw_decrypt(ours.ciphertext()) == theirs.encoding, v
    for precision in (1e-3, 1e-6, 0.5):
        ours = pk.encrypt_array([0.123456789], precision=precision).to_phe()[0]
        theirs = EncodedNumber.encode(ppk, 0.123456789, precision=precision)
        assert (ours.exponent, psk.raw_decrypt(ours.ciphertext())) == (
            theirs.exponent,
            theirs.encoding,
        )


def test_round_trip_and_dtypes(keys):
    pk, sk = keys
    floats = np.array([[1.5, -2.25], [1e-9, -3e12]])
    out = sk.decrypt_array(pk.encrypt_array(floats))
    assert out.dtype == np.float64 and out.shape == (2, 2)
    assert np.array_equal(out, floats)
    ints = np.array([-(2**62), 0, 5, 2**62], dtype=np.int64)
    out = sk.decrypt_array(pk.encrypt_array(ints))
    assert out.dtype == np.int64 and np.array_equal(out, ints)


def test_arithmetic_is_exact(keys):
    pk, sk = keys
    rng = np.random.default_rng(5)
    a = rng.normal(size=12) * 1e3
    b = rng.normal(size=12)
    k = rng.normal(size=12) * 10
    x, y = pk.encrypt_array(a), pk.encrypt_array(b)
    for got, want in [
        (x + y, [p + q for p, q in zip(exact(a), exact(b))]),
        (x - y, [p - q for p, q in zip(exact(a), exact(b))]),
        (x + b, [p + q for p, q in zip(exact(a), exact(b))]),
        (x * k, [p * q for p, q in zip(exact(a), exact(k))]),
        (-x, [-p for p in exact(a)]),
        (3.5 - x, [Fraction(3.5) - p for p in exact(a)]),
        (x.sum(), [sum(exact(a))]),
        (x @ k, [sum(p * q for p, q in zip(exact(a), exact(k)))]),
    ]:
        assert [Fraction(v) for v in np.asarray(sk.decrypt_array(got)).ravel()] == [
            Fraction(float(w)) for w in want
        ]


def test_phe_decrypts_ours_and_we_decrypt_phe(keys):
    pk, sk = keys
    ppk, psk = pk.to_phe(), sk.to_phe()
    values = [3.25, -1.5, 0.001, 42]
    # Ours, after + and *, decrypt with phe's key...
    x = pk.encrypt_array(np.array(values)) * 2 + 1.25
    assert [psk.decrypt(n) for n in x.to_phe()] == [v * 2 + 1.25 for v in values]
    # ... and phe's, after phe's own + and *, with ours.
    theirs = [ppk.encrypt(v) * 3 + 0.5 for v in values]
    ours = pg.EncryptedArray.from_phe(theirs, pk)
    assert sk.decrypt_array(ours).tolist() == [v * 3 + 0.5 for v in values]
    # Mixed: our array plus phe's numbers, decrypted by phe.
    mixed = x + ours
    assert [psk.decrypt(n) for n in mixed.to_phe()] == [
        (v * 2 + 1.25) + (v * 3 + 0.5) for v in values
    ]
    # Keys both ways.
    assert pg.PaillierPublicKey.from_phe(ppk) == pk
    sk2 = pg.PaillierPrivateKey.from_phe(psk)
    assert sk2.decrypt_array(x).tolist() == [v * 2 + 1.25 for v in values]


def test_linear_layer_matches_phe_and_plaintext(keys):
    pk, sk = keys
    ppk, psk = pk.to_phe(), sk.to_phe()
    rng = np.random.default_rng(11)
    samples = rng.normal(size=(6, 5))
    weights = rng.normal(size=(5, 3))
    biases = rng.normal(size=3)
    model = pg.LinearModel(weights.T, biases)  # one row per output
    enc = pk.encrypt_array(samples)
    out = sk.decrypt_array(model.infer(enc))
    # Exactly the fixed-point result of the encoded operands, rounded once to float64.
    for s in range(6):
        for j in range(3):
            want = Fraction(biases[j]) + sum(
                Fraction(samples[s, i]) * Fraction(weights[i, j]) for i in range(5)
            )
            assert out[s, j] == float(want)
    # phe's own arithmetic on phe's ciphertexts gives the same values.
    row = [ppk.encrypt(float(v)) for v in samples[0]]
    phe_out = [
        psk.decrypt(sum((row[i] * float(weights[i, j]) for i in range(5)), ppk.encrypt(0)) + float(biases[j]))
        for j in range(3)
    ]
    assert np.allclose(out[0], phe_out, rtol=0, atol=1e-12)
    # And phe decrypts ours.
    assert [psk.decrypt(n) for n in model.infer(enc).to_phe()] == out.ravel().tolist()
    # The classifier's class is the plaintext's.
    assert np.array_equal(np.argmax(out, axis=1), np.argmax(samples @ weights + biases, axis=1))


def test_model_json_and_context_keys(tmp_path, lookup_ctx):
    ctx = pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True)
    pk, sk = ctx.paillier_keys()
    path = tmp_path / "model.json"
    path.write_text('{"weights": [[1.0, 0.5], [-2.0, 0.25]], "biases": [0.0, 1.0]}')
    model = pg.LinearModel.load(path)
    assert (model.inputs, model.outputs) == (2, 2)
    out = sk.decrypt_array(model.infer(pk.encrypt_array([2.0, 4.0])))
    assert out.tolist() == [4.0, -2.0]
    with pytest.raises(pg.InvalidInputError, match="classic"):
        lookup_ctx.paillier_keys()


def test_bad_input_raises_clear_errors(keys):
    pk, sk = keys
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(pg.InvalidNumberError, match="number 1"):
            pk.encrypt_array([1.0, bad])
    with pytest.raises(pg.InvalidNumberError, match="max_int"):
        pk.encrypt_array([1e100], precision=1e-60)
    with pytest.raises(pg.InvalidInputError, match="dtype"):
        pk.encrypt_array(np.array(["a"]))
    x = pk.encrypt_array([1.0, 2.0, 3.0])
    with pytest.raises(pg.InvalidInputError, match="shape"):
        x + np.array([1.0, 2.0])
    with pytest.raises(pg.ShapeMismatchError):
        x + pk.encrypt_array([1.0, 2.0])
    with pytest.raises(pg.ShapeMismatchError):
        x @ np.ones((2, 2))
    with pytest.raises(TypeError):
        x * x
    # Overflow: past max_int is an error, never a wrong number.
    big = pk.encrypt_array([2**62])
    for _ in range(8):
        big = big * (2**62)
    with pytest.raises(pg.InvalidNumberError, match="overflow"):
        sk.decrypt_array(big)
    # Another key.
    pk2, sk2 = pg.generate_paillier_keypair(n_length=512, insecure=True)
    with pytest.raises(pg.KeyMismatchError):
        x + pk2.encrypt_array([1.0, 2.0, 3.0])
    with pytest.raises(pg.KeyMismatchError):
        sk2.decrypt_array(x)
    with pytest.raises(pg.InvalidInputError, match="another public key"):
        pg.EncryptedArray.from_phe(x.to_phe(), pk2)
    # Models.
    with pytest.raises(pg.ShapeMismatchError, match="per_input"):
        pg.LinearModel([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [1.0, 2.0, 3.0])
    with pytest.raises(pg.InvalidInputError, match="weight_rows"):
        pg.LinearModel([[1.0]], weight_rows="rows")
    with pytest.raises(pg.InvalidInputError):
        pg.LinearModel.from_json('{"weights": [[1.0]], "extra": 1}')
    with pytest.raises(pg.InsecureParametersError):
        pg.generate_paillier_keypair(n_length=512)


def test_packed_samples_run_a_linear_model_exactly(keys):
    pk, sk = keys
    rng = np.random.default_rng(11)
    # Dyadic features and weights: x @ W + b is exact in float64, and so must the result be.
    x = rng.integers(-1024, 1025, size=(37, 6)) / 256.0
    weights = rng.integers(-16, 17, size=(6, 3)) / 8.0
    biases = np.array([0.5, -0.25, 1.0])
    packed = pk.encrypt_packed(x, max_abs=4.0, precision=1 / 256, headroom_bits=24)
    assert packed.shape == (37, 6) and len(packed) == 37
    assert packed.slots > 1
    assert packed.ciphertext_count == -(-37 // packed.slots) * 6
    assert np.array_equal(sk.decrypt_packed(packed), x)
    y = pg.LinearModel(weights, biases, weight_rows="per_input").infer_packed(packed)
    out = sk.decrypt_packed(y)
    assert out.shape == (37, 3) and out.dtype == np.float64
    assert np.array_equal(out, x @ weights + biases)
    ints = rng.integers(-1000, 1001, size=(5, 2))
    out = sk.decrypt_packed(pk.encrypt_packed(ints, max_abs=1000))
    assert out.dtype == np.int64 and np.array_equal(out, ints)


def test_packed_inputs_and_overflowing_models_are_refused(keys):
    pk, _ = keys
    with pytest.raises(pg.InvalidNumberError):
        pk.encrypt_packed(np.array([[1.0, 5.0]]), max_abs=4.0, precision=1 / 16)
    with pytest.raises(pg.InvalidInputError):
        pk.encrypt_packed(np.array([1.0, 2.0]), max_abs=4.0)
    with pytest.raises(pg.InvalidInputError):
        pk.encrypt_packed(np.array([[1.0]]), max_abs=float("nan"))
    packed = pk.encrypt_packed(np.ones((3, 2)), max_abs=1.0, headroom_bits=4)
    # |w| sums to 64 over 1-bit inputs: 7 bits, more than the 4 of headroom.
    with pytest.raises(pg.InvalidNumberError, match="headroom"):
        pg.LinearModel(np.full((1, 2), 32.0)).infer_packed(packed)


def test_numbers_on_the_gpu_give_the_cpus_results(keys):
    """The same keys on the GPU (lavapipe on CI): decryption (both primes' exponentiations and
    the recombination on the device) and the linear layer give the CPU's numbers. Without an
    adapter this is skipped, unless PAILLIER_GPU_REQUIRE_ADAPTER=1."""
    import os

    pk, sk = keys
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(9, 4))
    enc = pk.encrypt_array(samples)
    try:
        gpu_pk = pk.with_device("gpu")
        gpu_sk = pg.PaillierPrivateKey.from_phe(sk.to_phe(), device="gpu")
        decrypted = gpu_sk.decrypt_array(enc)
    except pg.GpuError as e:
        if os.environ.get("PAILLIER_GPU_REQUIRE_ADAPTER") == "1":
            raise
        pytest.skip(f"no GPU: {e}")
    assert np.array_equal(decrypted, samples)
    ints = np.array([-(2**62), -1, 0, 7, 2**62], dtype=np.int64)
    assert np.array_equal(gpu_sk.decrypt_array(gpu_pk.encrypt_array(ints)), ints)
    model = pg.LinearModel(rng.normal(size=(4, 3)), rng.normal(size=3), weight_rows="per_input")
    on_gpu = model.infer(gpu_pk.encrypt_array(samples))
    assert np.array_equal(gpu_sk.decrypt_array(on_gpu), sk.decrypt_array(model.infer(enc)))
