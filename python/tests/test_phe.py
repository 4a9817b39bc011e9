"""Interoperability with python-paillier (`phe`): the `paillier` scheme is textbook Paillier
with g = n + 1, so a phe private key built from the same p and q decrypts our ciphertexts, and
phe's encryptions of packed vectors aggregate and decode here."""

import base64
import json
import math

import numpy as np
from phe import paillier

import paillier_gpu as pg
from conftest import hamming, random_bits


def phe_keys(ctx):
    """phe's key pair for a context, from n and phi (p + q = n - phi + 1)."""
    plain = ctx.to_dict_plain()
    pk = json.loads(plain["pk"])
    sk = json.loads(plain["sk"])
    n, phi = int(pk["n"]), int(sk["phi"])
    s = n - phi + 1
    root = math.isqrt(s * s - 4 * n)
    p, q = (s + root) // 2, (s - root) // 2
    assert p * q == n
    public = paillier.PaillierPublicKey(n)
    return public, paillier.PaillierPrivateKey(public, p, q)


def packed(vector):
    """The SDK's packing: bit i in the two-bit slot at position 2·(dims − 1 − i)."""
    dims = len(vector)
    return sum(int(b) << (2 * (dims - 1 - i)) for i, b in enumerate(vector))


def to_int(b64_chunk):
    return int.from_bytes(base64.b64decode(b64_chunk), "little")


def to_b64(value, width):
    return base64.b64encode(value.to_bytes(width, "little")).decode()


def test_phe_decrypts_our_ciphertexts(small_ctx):
    public, private = phe_keys(small_ctx)
    rng = np.random.default_rng(1)
    vectors = random_bits(rng, 5, small_ctx.embedding_length)
    for vector, row in zip(vectors, small_ctx.encrypt_vec_batch(vectors).to_b64()):
        assert private.raw_decrypt(to_int(row[0])) == packed(vector)
    # The public-key-only path too.
    row = small_ctx.public_context().encrypt_vec_batch(vectors[:1]).to_b64()[0]
    assert private.raw_decrypt(to_int(row[0])) == packed(vectors[0])


def test_phe_encryptions_aggregate_and_decode_here(small_ctx):
    public, _ = phe_keys(small_ctx)
    width = len(base64.b64decode(small_ctx.encrypt_vec_one([0] * small_ctx.embedding_length).to_b64()[0][0]))
    rng = np.random.default_rng(2)
    db = random_bits(rng, 6, small_ctx.embedding_length)
    query = random_bits(rng, 1, small_ctx.embedding_length)[0]
    rows = [[to_b64(public.raw_encrypt(packed(v)), width)] for v in db]
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(pg.Ciphertexts.from_b64(small_ctx, rows))
    enc_query = pg.Ciphertexts.from_b64(small_ctx, [to_b64(public.raw_encrypt(packed(query)), width)])
    distances = small_ctx.decode_hamming_client_batch(index.aggregate(enc_query))
    assert distances.tolist() == [hamming(v, query) for v in db]
