"""What the tampering proxy's attack modules share: Paillier encryption under a public key n and
an answer's entry by chunk id."""

import secrets


def encrypt(m, n):
    n2 = n * n
    r = secrets.randbelow(n - 2) + 2
    return (1 + m * n) * pow(r, n, n2) % n2


def entry_of(answer, chunk_id):
    for entry in answer:
        if entry[1] == chunk_id:
            return entry
    raise KeyError(f"chunk {chunk_id} is not in the answer")
