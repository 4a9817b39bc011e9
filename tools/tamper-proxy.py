#!/usr/bin/env python3
"""A search service that lies: a proxy between a client and an XTrace service (such as
`paillier-gpu serve`) that alters its answers as told, to see what a client notices.

    tools/tamper-proxy.py --upstream http://127.0.0.1:8742 [--listen 127.0.0.1:0]

prints `listening on http://HOST:PORT` and forwards every request. `POST /_tamper` with a JSON
attack sets how it lies from then on (`{"kind": "none"}` stops):

  forge        {"chunk_id": X, "n": N}          X's pieces replaced by E(0) under the public key n
  shift        {"chunk_id": X, "bit": B, "n": N} X's first piece times E(2^B)
  swap         {"a": X, "b": Y}                  the answers of X and Y exchanged
  duplicate    {"source": X, "target": Y}        X's answer also under Y (Y's dropped)
  same_id      {"chunk_id": X}                   X's entry answered twice
  drop         {"chunk_id": X}                   X's entry left out
  replay       {}                                the previous answer for the knowledge base
  foreign      {"from_kb": K, "chunk_id": X}     X's answer replaced by the first record of the
                                                 last answer for knowledge base K
  content_swap {"a": X, "b": Y}                  on GET /v1/chunk, X's and Y's contents exchanged
  drop_filter  {}                                searches and metadata searches sent on without
                                                 their metadata filter (a service ignoring it)
  lose_insert  {}                                inserts (POST /v1/chunk, and record writes, POST
                                                 /v1/records) forwarded, their answer lost: the
                                                 connection closes unanswered
  joint_swap   {"a": X, "b": Y}                  X's and Y's answers and their chunks on
                                                 GET /v1/chunk exchanged (an id relabelling)
  stale        {"chunk_id": X, "n": N}           X answered from its index before its last update
                                                 (old index times the query) and served as it was
                                                 then on GET /v1/chunk
  resurrect    {"chunk_id": X, "n": N}           deleted X added back to answers (its last index
                                                 times the query) and served on GET /v1/chunk
  guess        {"chunk_id": X, "guess": [bits], "n": N}
                                                 X's answer E(R)E(Q) replaced by E(R)E(Q)^2E(-C),
                                                 C the guess packed as the classic layout packs
                                                 it: what passes exactly when the query Q is C
  guess_in_fetch {"chunk_id": X, "guess": [bits], "n": N}
                                                 on GET /v1/chunk, X's index E(R) replaced by
                                                 E(R)E(Q)E(-C), Q the last query seen
  keep_stale   {"chunk_id": X}                   record writes (POST /v1/records) committed without
                                                 X's update or delete, the owner's new digest with
                                                 them: X stays as it was (stale, or deleted and
                                                 still served)

It remembers each record's index and content as they pass (inserts and updates with the ids of
their answers, GET /v1/chunk answers), for stale and resurrect. `GET /_tamper/log` answers
{"chunk_fetches": [[ids of one GET /v1/chunk, in the order asked], ...]}; `POST /_tamper`
empties it.

`compute_hamming` is asked for JSON (pieces as integers) whatever the client accepts. Only the
standard library: the Rust tests run it with the system's python3.
"""

import argparse
import base64
import http.server
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request

LOCK = threading.Lock()
ATTACK = {"kind": "none"}
LAST_ANSWERS = {}  # knowledge base -> the last honest compute_hamming answer
# What the owner's-digest attacks remember (see "Records remembered" below).
RECORDS = {}  # (knowledge base, chunk id) -> its versions seen, oldest first: {"index", "content"}
LAST_QUERY = {}  # "pieces": the last compute_hamming query's pieces, as integers
FETCH_LOG = []  # the chunk ids of each GET /v1/chunk, in the order asked
HOP_HEADERS = {"host", "connection", "content-length", "accept-encoding", "keep-alive", "transfer-encoding"}


def encrypt(m, n):
    n2 = n * n
    r = secrets.randbelow(n - 2) + 2
    return (1 + m * n) * pow(r, n, n2) % n2


def entry_of(answer, chunk_id):
    for entry in answer:
        if entry[1] == chunk_id:
            return entry
    raise KeyError(f"chunk {chunk_id} is not in the answer")


def tamper_answer(kb, answer, attack):
    kind = attack["kind"]
    if kind == "forge":
        n = int(attack["n"])
        entry = entry_of(answer, attack["chunk_id"])
        entry[0] = [encrypt(0, n) for _ in entry[0]]
    elif kind == "shift":
        n = int(attack["n"])
        entry = entry_of(answer, attack["chunk_id"])
        entry[0][0] = entry[0][0] * encrypt(1 << int(attack["bit"]), n) % (n * n)
    elif kind == "swap":
        a, b = entry_of(answer, attack["a"]), entry_of(answer, attack["b"])
        a[0], b[0] = b[0], a[0]
    elif kind == "duplicate":
        entry_of(answer, attack["target"])[0] = list(entry_of(answer, attack["source"])[0])
    elif kind == "same_id":
        answer.append([list(entry_of(answer, attack["chunk_id"])[0]), attack["chunk_id"]])
    elif kind == "drop":
        answer.remove(entry_of(answer, attack["chunk_id"]))
    elif kind == "replay":
        answer = attack.get("previous", answer)
    elif kind == "foreign":
        foreign = LAST_ANSWERS.get(attack["from_kb"])
        if not foreign:
            raise KeyError(f"no answer for knowledge base {attack['from_kb']} seen yet")
        entry_of(answer, attack["chunk_id"])[0] = list(foreign[0][0])
    return answer


def tamper_chunks(chunks, attack):
    if attack["kind"] == "content_swap":
        by_id = {chunk.get("chunk_id"): chunk for chunk in chunks}
        a, b = by_id.get(attack["a"]), by_id.get(attack["b"])
        if a is not None and b is not None:
            a["chunk_content"], b["chunk_content"] = b.get("chunk_content"), a.get("chunk_content")
    return chunks


# Records remembered, for the attacks on the owner's digest: every record's index pieces and
# content as they pass (inserts and updates, with the ids of their answers; GET /v1/chunk
# answers), so that an old copy can be served; and the attacks that use them.


def pieces_of(b64_pieces):
    return [int.from_bytes(base64.b64decode(piece), "little") for piece in b64_pieces]


def b64_of(pieces, n):
    width = ((n * n).bit_length() + 7) // 8
    return [base64.b64encode(piece.to_bytes(width, "little")).decode() for piece in pieces]


def remember(kb, chunk_id, index, content, written):
    """A record's version as seen: a write with a new index, or a fetch showing an index not
    seen yet, is a new version; otherwise what is known of the last version is filled in (a
    write's fields replace it)."""
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


def guessed(pieces, query, attack):
    """pieces times E(Q) times E(-C), C the attack's guess: for an answer E(R + Q),
    E(R)·E(Q)²·E(−C); for a record's index E(R), E(R)·E(Q)·E(−C)."""
    n = int(attack["n"])
    n2 = n * n
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
    elif kind == "guess_in_fetch" and attack["chunk_id"] in by_id:
        chunk = by_id[attack["chunk_id"]]
        if "index" in chunk:
            query = LAST_QUERY.get("pieces")
            if query is None:
                raise KeyError("no query seen yet")
            chunk["index"] = b64_of(guessed(pieces_of(chunk["index"]), query, attack),
                                    int(attack["n"]))
    return chunks


class Proxy(http.server.BaseHTTPRequestHandler):
    upstream = ""

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _answer(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, method):
        body = self._body()
        if self.path.startswith("/_tamper"):
            with LOCK:
                if method == "GET" and self.path.split("?")[0] == "/_tamper/log":
                    answer = {"chunk_fetches": FETCH_LOG}
                else:
                    if method == "POST":
                        ATTACK.clear()
                        ATTACK.update(json.loads(body or b"{}"))
                        FETCH_LOG.clear()
                    answer = {"kind": ATTACK.get("kind")}
                self._answer(200, json.dumps(answer).encode())
            return
        is_hamming = self.path.startswith("/v1/compute_hamming/")
        with LOCK:
            dropping = ATTACK.get("kind") == "drop_filter"
        if dropping and body and (is_hamming or self.path.startswith("/v1/chunk/meta/")):
            sent = json.loads(body)
            sent.pop("meta_filter", None)
            body = json.dumps(sent).encode()
        is_records = method == "POST" and self.path.split("?")[0].startswith("/v1/records/")
        with LOCK:
            stale = ATTACK.get("chunk_id") if ATTACK.get("kind") == "keep_stale" else None
        if stale is not None and is_records and body:
            sent = json.loads(body)
            sent["update"] = [chunk for chunk in sent.get("update") or [] if chunk.get("chunk_id") != stale]
            sent["delete"] = [chunk_id for chunk_id in sent.get("delete") or [] if chunk_id != stale]
            body = json.dumps(sent).encode()
        is_get_chunks = method == "GET" and self.path.split("?")[0].startswith("/v1/chunk/")
        asked = self._asked_chunks() if is_get_chunks else {}
        request = urllib.request.Request(self.upstream + self.path, data=body, method=method)
        for name, value in self.headers.items():
            if name.lower() not in HOP_HEADERS:
                request.add_header(name, value)
        if is_hamming:
            request.remove_header("Accept")
            request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                status, content = response.status, response.read()
                content_type = response.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read()
            content_type = error.headers.get("Content-Type", "application/json")
        route = self.path.split("?")[0]
        inserting = route.startswith("/v1/chunk/") or route.startswith("/v1/records/")
        if method == "POST" and inserting and "/meta" not in self.path:
            with LOCK:
                losing = ATTACK.get("kind") == "lose_insert"
            if losing:
                self.close_connection = True
                return
        if status == 200 and method in ("POST", "PUT", "PATCH") and not is_hamming:
            self._learn_write(body, content)
        if status == 200 and (is_hamming or is_get_chunks):
            with LOCK:
                attack = dict(ATTACK)
            try:
                value = json.loads(content)
                if is_hamming:
                    sent = json.loads(body or b"{}")
                    kb = sent.get("kb_id")
                    query = pieces_of(sent.get("query") or [])
                    with LOCK:
                        previous = LAST_ANSWERS.get(kb)
                        LAST_ANSWERS[kb] = json.loads(content)
                        LAST_QUERY["pieces"] = query
                    if attack["kind"] == "replay" and previous is not None:
                        attack["previous"] = previous
                    value = tamper_answer(kb, value, attack)
                    with LOCK:
                        value = tamper_answer_records(kb, value, attack, query)
                else:
                    kb = asked["kb_id"]
                    with LOCK:
                        learn_fetched(kb, value)
                        value = tamper_chunks_records(kb, value, attack, asked["chunk_ids"],
                                                      asked["projection"])
                    value = tamper_chunks(value, attack)
                content, content_type = json.dumps(value).encode(), "application/json"
            except (KeyError, ValueError) as error:
                self._answer(599, json.dumps({"message": f"tamper-proxy: {error}"}).encode())
                return
        self._answer(status, content, content_type)

    def _asked_chunks(self):
        """A GET /v1/chunk's knowledge base, ids (logged, in the order asked) and projection."""
        query = urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)
        asked = {"kb_id": None, "chunk_ids": [], "projection": []}
        for name, value in query:
            if name == "kb_id":
                asked["kb_id"] = value
            elif name == "chunk_ids":
                asked["chunk_ids"].append(int(value))
            elif name == "projection":
                asked["projection"].append(value)
        with LOCK:
            FETCH_LOG.append(list(asked["chunk_ids"]))
        return asked

    def _learn_write(self, body, content):
        try:
            request, answer = json.loads(body or b"{}"), json.loads(content or b"{}")
        except ValueError:
            return
        if isinstance(request, dict) and isinstance(answer, dict):
            with LOCK:
                learn_write(self.path, request, answer)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")

    def do_PUT(self):
        self._forward("PUT")

    def do_PATCH(self):
        self._forward("PATCH")

    def do_DELETE(self):
        self._forward("DELETE")


def main():
    # The docstring's first paragraph is the description; the rest, the attacks one a line
    # with their JSON, is printed as written after the options.
    about, _, attacks = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=" ".join(about.split()), epilog=attacks,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, metavar="URL",
                        help="the service the proxy forwards to, such as http://127.0.0.1:8742")
    parser.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT",
                        help="where the proxy listens (default: a free port on 127.0.0.1)")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    Proxy.upstream = args.upstream.rstrip("/")
    server = http.server.ThreadingHTTPServer((host, int(port)), Proxy)
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
