"""The tampering proxy's attacks on the owner's digest (tools/tamper-proxy.py loads this module):
every record's index pieces and content as they pass are remembered (inserts and updates, with
the ids of their answers; GET /v1/chunk answers), so that an old copy can be served; and the
attacks that use them. The caller holds the proxy's lock."""

import base64

from tamper_common import encrypt, entry_of

RECORDS = {}  # (knowledge base, chunk id) -> its versions seen, oldest first: {"index", "content"}
CONTENTS = {}  # (knowledge base, chunk id) -> every distinct content seen, oldest first
LAST_QUERY = {}  # "pieces": the last compute_hamming query's pieces, as integers


def pieces_of(b64_pieces):
    return [int.from_bytes(base64.b64decode(piece), "little") for piece in b64_pieces]


def b64_of(pieces, n):
    width = ((n * n).bit_length() + 7) // 8
    return [base64.b64encode(piece.to_bytes(width, "little")).decode() for piece in pieces]


def remember(kb, chunk_id, index, content, written):
    """A record's version as seen: a write with a new index, or a fetch showing an index not
    seen yet, is a new version; otherwise what is known of the last version is filled in (a
    write's fields replace it)."""
    contents = CONTENTS.setdefault((kb, chunk_id), [])
    if content is not None and content not in contents:
        contents.append(content)
    versions = RECORDS.setdefault((kb, chunk_id), [])
    last = versions[-1] if versions else None
    if last is None or (index is not None and last["index"] not in (None, index)):
        versions.append({"index": index, "content": content})
        return
    for field, value in (("index", index), ("content", content)):
        if value is not None and (written or last[field] is None):
            last[field] = value


def learn_write(path, request, answer):
    """Records an insert, update or patch forwarded and answered 200."""
    kb = request.get("kb_id")
    route = path.split("?")[0]
    if route.startswith("/v1/records/"):
        inserted, updated = request.get("insert") or [], request.get("update") or []
    elif route.startswith("/v1/chunk/") and "/meta" not in route and "by-meta" not in route:
        inserted = request.get("chunks") or []
        updated = request.get("chunk_updates") or request.get("chunk_patches") or []
    else:
        return
    ids = answer.get("chunk_ids") or []
    pairs = list(zip(ids, inserted)) + [(chunk.get("chunk_id"), chunk) for chunk in updated]
    for chunk_id, chunk in pairs:
        index = chunk.get("index")
        remember(kb, chunk_id, pieces_of(index) if index else None, chunk.get("chunk_content"), True)


def learn_fetched(kb, chunks):
    for chunk in chunks:
        index = chunk.get("index")
        remember(kb, chunk.get("chunk_id"), pieces_of(index) if index else None,
                 chunk.get("chunk_content"), False)


def version_of(kb, chunk_id, back):
    """X's version `back` writes before its last (0: the last), which must hold an index."""
    versions = [v for v in RECORDS.get((kb, chunk_id), []) if v["index"] is not None]
    if len(versions) <= back:
        raise KeyError(f"chunk {chunk_id}: {len(versions)} versions seen, {back + 1} needed")
    return versions[-1 - back]


def classic_pack(bits, n):
    """The guessed vector as the classic layout packs it (src/hamming/layout.rs): pieces of
    key_len - 1 dimensions, dimension j of a piece of `dims` at bit 2·(dims - 1 - j)."""
    per_piece = (n.bit_length() + 1) // 2 - 1
    pieces = []
    for start in range(0, len(bits), per_piece):
        part = bits[start:start + per_piece]
        pieces.append(sum(int(bit) << (2 * (len(part) - 1 - j)) for j, bit in enumerate(part)))
    return pieces


def one_bit_pack(bits):
    """The guessed vector one bit a dimension, dimension j at bit j (src/verifiable/records/one_bit.rs):
    the guess of a service that takes a one-bit query to hold its vector (it holds only its
    nonce)."""
    return [sum(int(bit) << j for j, bit in enumerate(bits))]


def guessed(pieces, query, attack):
    """pieces times E(Q) times E(-C), C the attack's guess: for an answer E(R + Q),
    E(R)·E(Q)²·E(−C); for a record's index E(R), E(R)·E(Q)·E(−C)."""
    n = int(attack["n"])
    n2 = n * n
    if attack.get("layout") == "one-bit":
        guess = one_bit_pack(attack["guess"])
    else:
        guess = classic_pack(attack["guess"], n)
    return [p * q * encrypt((n - c) % n, n) % n2 for p, q, c in zip(pieces, query, guess)]


def tamper_answer_records(kb, answer, attack, query):
    kind = attack["kind"]
    if kind == "joint_swap":
        a, b = entry_of(answer, attack["a"]), entry_of(answer, attack["b"])
        a[0], b[0] = b[0], a[0]
    elif kind in ("stale", "resurrect"):
        n = int(attack["n"])
        chunk_id = attack["chunk_id"]
        old = version_of(kb, chunk_id, 1 if kind == "stale" else 0)["index"]
        pieces = [p * q % (n * n) for p, q in zip(old, query)]
        if kind == "stale":
            entry_of(answer, chunk_id)[0] = pieces
        else:
            answer = [entry for entry in answer if entry[1] != chunk_id] + [[pieces, chunk_id]]
            answer.sort(key=lambda entry: entry[1])
    elif kind == "guess":
        entry = entry_of(answer, attack["chunk_id"])
        entry[0] = guessed(entry[0], query, attack)
    elif kind == "unquery":
        n2 = int(attack["n"]) ** 2
        entry = entry_of(answer, attack["chunk_id"])
        entry[0] = [p * pow(q, -1, n2) % n2 for p, q in zip(entry[0], query)]
    return answer


def tamper_chunks_records(kb, chunks, attack, asked, projection):
    kind = attack["kind"]
    by_id = {chunk.get("chunk_id"): chunk for chunk in chunks}
    if kind == "joint_swap":
        a, b = by_id.get(attack["a"]), by_id.get(attack["b"])
        if a is not None and b is not None:
            for field in set(a) | set(b):
                if field != "chunk_id":
                    a[field], b[field] = b.get(field), a.get(field)
    elif kind in ("stale", "resurrect") and attack["chunk_id"] in asked:
        chunk_id, n = attack["chunk_id"], int(attack["n"])
        old = version_of(kb, chunk_id, 1 if kind == "stale" else 0)
        chunk = by_id.get(chunk_id)
        if chunk is None:
            chunk = {"chunk_id": chunk_id}
            chunks.append(chunk)
        if "index" in chunk or not projection or "index" in projection:
            chunk["index"] = b64_of(old["index"], n)
        if "chunk_content" in chunk or not projection or "chunk_content" in projection:
            chunk["chunk_content"] = old["content"]
    elif kind == "old_content" and attack["chunk_id"] in by_id:
        # The current index with the content it had before its last change: a document
        # replayed beside the record's ciphertext of now.
        seen = CONTENTS.get((kb, attack["chunk_id"]), [])
        current = by_id[attack["chunk_id"]].get("chunk_content")
        earlier = [content for content in seen if content != current]
        if not earlier:
            raise KeyError(f"chunk {attack['chunk_id']}: no earlier content seen")
        by_id[attack["chunk_id"]]["chunk_content"] = earlier[-1]
    elif kind == "guess_in_fetch" and attack["chunk_id"] in by_id:
        chunk = by_id[attack["chunk_id"]]
        if "index" in chunk:
            query = LAST_QUERY.get("pieces")
            if query is None:
                raise KeyError("no query seen yet")
            chunk["index"] = b64_of(guessed(pieces_of(chunk["index"]), query, attack),
                                    int(attack["n"]))
    return chunks
