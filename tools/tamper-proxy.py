#!/usr/bin/env python3
"""A search service that lies: a proxy between a client and an XTrace service (such as
`paillier-gpu serve`) that alters its answers as told, to see what a client notices.

    tools/tamper-proxy.py --upstream http://127.0.0.1:8742 [--listen 127.0.0.1:0]

prints `listening on http://HOST:PORT` and forwards every request. `POST /_tamper` with a JSON
attack sets how it lies from then on (`{"kind": "none"}` stops):

  forge        {"chunk_id": X, "n": N}          X's pieces replaced by E(0) under the public key n
  shift        {"chunk_id": X, "bit": B, "n": N} X's first piece times E(2^B)
  subtract     {"chunk_id": X, "bit": B, "n": N} X's first piece times E(-2^B) (below zero wraps)
  unquery      {"chunk_id": X, "n": N}           X's answer E(R)E(Q) times E(Q)^-1: the stored
                                                 record alone, as if the query were skipped
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
                                                 it (one bit a dimension with "layout":
                                                 "one-bit"): what passes exactly when Q is C
  guess_in_fetch {"chunk_id": X, "guess": [bits], "n": N}
                                                 on GET /v1/chunk, X's index E(R) replaced by
                                                 E(R)E(Q)E(-C), Q the last query seen
  old_content  {"chunk_id": X}                   on GET /v1/chunk, X's current index with the content
                                                 it had before its last change (a document
                                                 replayed beside today's ciphertext)
  keep_stale   {"chunk_id": X}                   record writes (POST /v1/records) committed without
                                                 X's update or delete, the owner's new digest with
                                                 them: X stays as it was (stale, or deleted and
                                                 still served)
  refuse_writes {"after": N}                     record writes (POST /v1/records) after the first N
                                                 answered 503 and not sent on (a service that
                                                 stops taking writes midway)
  no_digest    {}                                the owner's digest read as none (version 0, nothing
                                                 sealed), the rest of the service's answer kept
  no_digest_routes {}                            the owner's digest read answered 404, as by a
                                                 service without the digest routes
  endless_links {}                               the owner's digest's links (reads with ?since=)
                                                 answered by one page for ever: the first page
                                                 asked for, its oldest and newest links left
                                                 out, with "more_links": true, whatever `since`
                                                 is
  hide_listed  {"chunk_id": X}                   X left out of metadata searches' lists
                                                 (POST /v1/chunk/meta/...), as if no filter
                                                 selected it; with "filtered_only": true, only
                                                 of those with a filter that tests something
  drop_partition {}                              a partitioned search's last probed partition
                                                 left out of the filter sent on
  swap_partition {}                              its last probed partition replaced by another
  other_tokens   {}                              every probed partition replaced by others
                                                 (tools/tamper_partitions.py; the tokens are
                                                 learnt from the records written through it)
  page_drop      {"vector_bytes": B}             answers of sealed vectors (POST
                                                 /v1/sealed_pages, pages of B-byte vectors,
                                                 tools/tamper_pages.py): the last page left out
  page_twice     {"vector_bytes": B}             the first page answered twice
  page_flip      {"vector_bytes": B}             a bit of the first page's vectors flipped
  page_ids       {"vector_bytes": B}             the first page's first two ids exchanged
  page_partition {"vector_bytes": B}             the first page relabelled as the last page's
                                                 partition
  page_foreign   {"vector_bytes": B, "from_kb": K}
                                                 the first page replaced by knowledge base K's
  page_replay    {"vector_bytes": B}             the previous answer of pages for the knowledge
                                                 base (another query's partitions)

It remembers each record's index and content as they pass (inserts and updates with the ids of
their answers, GET /v1/chunk answers), for stale and resurrect. `GET /_tamper/log` answers
{"chunk_fetches": [[ids of one GET /v1/chunk, in the order asked], ...], "probes": [[partition
tokens one partitioned compute_hamming asked for], ...], "link_reads": [the `since` of each
owner's digest read that asked for links, ...]}; `POST /_tamper` empties it.

`compute_hamming` is asked for JSON (pieces as integers) whatever the client accepts. Only the
standard library: the Rust tests run it with the system's python3.
"""

import argparse
import http.server
import json
import threading
import urllib.error
import urllib.parse
import urllib.request

from tamper_common import encrypt, entry_of
from tamper_pages import tamper_pages
from tamper_partitions import learn_tokens, probed_tokens, tamper_partitions
from tamper_records import (LAST_QUERY, learn_fetched, learn_write, pieces_of,
                            tamper_answer_records, tamper_chunks_records)

LOCK = threading.Lock()
ATTACK = {"kind": "none"}
LAST_ANSWERS = {}  # knowledge base -> the last honest compute_hamming answer
FETCH_LOG = []  # the chunk ids of each GET /v1/chunk, in the order asked
PROBE_LOG = []  # the partition tokens each partitioned compute_hamming asked for
LINK_READS = []  # the `since` of each owner's digest read that asked for links
HOP_HEADERS = {"host", "connection", "content-length", "accept-encoding", "keep-alive", "transfer-encoding"}


def tamper_answer(kb, answer, attack):
    kind = attack["kind"]
    if kind == "forge":
        n = int(attack["n"])
        entry = entry_of(answer, attack["chunk_id"])
        entry[0] = [encrypt(0, n) for _ in entry[0]]
    elif kind in ("shift", "subtract"):
        n = int(attack["n"])
        entry = entry_of(answer, attack["chunk_id"])
        delta = 1 << int(attack["bit"])
        delta = delta if kind == "shift" else (n - delta) % n
        entry[0][0] = entry[0][0] * encrypt(delta, n) % (n * n)
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
                    answer = {"chunk_fetches": FETCH_LOG, "probes": PROBE_LOG, "link_reads": LINK_READS}
                else:
                    if method == "POST":
                        ATTACK.clear()
                        ATTACK.update(json.loads(body or b"{}"))
                        FETCH_LOG.clear()
                        PROBE_LOG.clear()
                        LINK_READS.clear()
                    answer = {"kind": ATTACK.get("kind")}
                self._answer(200, json.dumps(answer).encode())
            return
        is_hamming = self.path.startswith("/v1/compute_hamming/")
        is_pages = method == "POST" and self.path.startswith("/v1/sealed_pages/")
        with LOCK:
            dropping = ATTACK.get("kind") == "drop_filter"
        if dropping and body and (is_hamming or self.path.startswith("/v1/chunk/meta/")):
            sent = json.loads(body)
            sent.pop("meta_filter", None)
            body = json.dumps(sent).encode()
        if (is_hamming or is_pages) and body:
            with LOCK:
                asked = probed_tokens(json.loads(body))
                if asked is not None:
                    PROBE_LOG.append(asked)
                attack = dict(ATTACK)
                try:
                    body = json.dumps(tamper_partitions(json.loads(body), attack)).encode()
                except (KeyError, ValueError) as error:
                    self._answer(599, json.dumps({"message": f"tamper-proxy: {error}"}).encode())
                    return
        is_records = method == "POST" and self.path.split("?")[0].startswith("/v1/records/")
        with LOCK:
            stale = ATTACK.get("chunk_id") if ATTACK.get("kind") == "keep_stale" else None
        if stale is not None and is_records and body:
            sent = json.loads(body)
            sent["update"] = [chunk for chunk in sent.get("update") or [] if chunk.get("chunk_id") != stale]
            sent["delete"] = [chunk_id for chunk_id in sent.get("delete") or [] if chunk_id != stale]
            body = json.dumps(sent).encode()
        if is_records:
            with LOCK:
                refusing = ATTACK.get("kind") == "refuse_writes"
                if refusing:
                    ATTACK["taken"] = ATTACK.get("taken", 0) + 1
                    refusing = ATTACK["taken"] > ATTACK.get("after", 0)
            if refusing:
                self._answer(503, json.dumps({"message": "tamper-proxy: writes refused"}).encode())
                return
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
        with LOCK:
            kind = ATTACK.get("kind")
        if method == "GET" and route.startswith("/v1/owner_digest/") and status == 200:
            if kind == "no_digest":
                stored = json.loads(content)
                stored.update(version=0, sealed=None)
                content = json.dumps(stored).encode()
            elif kind == "no_digest_routes":
                status, content = 404, json.dumps({"message": "Not Found"}).encode()
            since = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("since")
            if since:
                with LOCK:
                    LINK_READS.append(int(since[0]))
                    if kind == "endless_links":
                        stored = json.loads(content)
                        page = ATTACK.setdefault("page", (stored.get("links") or [])[1:-1])
                        stored.update(links=page, more_links=True)
                        content = json.dumps(stored).encode()
        if kind == "hide_listed" and method == "POST" and route.startswith("/v1/chunk/meta/") and status == 200:
            listed = json.loads(content)
            with LOCK:
                hidden, filtered_only = ATTACK.get("chunk_id"), ATTACK.get("filtered_only") is True
            asked = json.loads(body or b"{}").get("meta_filter")
            asked = json.loads(asked) if isinstance(asked, str) else asked
            if filtered_only and not asked:
                listed = None
            if isinstance(listed, list):
                listed = [chunk for chunk in listed if not (isinstance(chunk, dict) and chunk.get("chunk_id") == hidden)]
                content = json.dumps(listed).encode()
        inserting = route.startswith("/v1/chunk/") or route.startswith("/v1/records/")
        if method == "POST" and inserting and "/meta" not in self.path:
            with LOCK:
                losing = ATTACK.get("kind") == "lose_insert"
            if losing:
                self.close_connection = True
                return
        if status == 200 and method in ("POST", "PUT", "PATCH") and not (is_hamming or is_pages):
            self._learn_write(body, content)
        if status == 200 and is_pages:
            with LOCK:
                attack = dict(ATTACK)
                try:
                    content = tamper_pages(json.loads(body or b"{}").get("kb_id"), content, attack)
                except (KeyError, ValueError) as error:
                    self._answer(599, json.dumps({"message": f"tamper-proxy: {error}"}).encode())
                    return
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
                        learn_tokens(kb, value)
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
            written = [chunk for field in ("insert", "update", "patch", "chunks")
                       for chunk in (request.get(field) or [])]
            with LOCK:
                learn_write(self.path, request, answer)
                learn_tokens(request.get("kb_id"), written)

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
