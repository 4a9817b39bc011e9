"""The XTrace SDK's own command-line program, `xtrace` (xtrace-ai-sdk[cli] 0.1.1), against
`paillier-gpu serve`: knowledge bases (`kb create` with `-p` and `-a`, `list`, `describe`,
`delete`), `xvec load` of a folder, `retrieve`, `head`, `fetch`, `upsert` and `upsert-file`, with
a `.env` written as docs/sdk-cli.md says (not `xtrace init`, which only knows XTrace's hosted
service). Embeddings come from a stand-in for Ollama's /api/embeddings of the test's own: a bag
of hashed words, so that a query made of one file's words finds that file first.

Each command runs as a subprocess in a folder holding the `.env`, with no XTRACE_* variable of
the outer environment, stdin closed and no controlling terminal (a prompt fails instead of
waiting)."""

import asyncio
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import integration

# A minute or so: tools/test-deep runs it (CI); the README's test command leaves it out.
pytestmark = pytest.mark.deep

DIM = 128                       # bits per embedding: one 1024-bit Paillier plaintext holds them
PASSPHRASE = "cli test passphrase"
MODEL = "bag-of-words-128"      # the name the pickled Embedding sends; the stand-in checks it
CLI_TIMEOUT = 120               # seconds per command: a hung prompt fails instead of waiting

# One chunk each (a file under ~3,000 characters is one chunk); no two share a word of four
# letters or more, which is all the stand-in embeds.
DOCS = {
    "volcano.txt": "Volcanoes erupt molten lava, ash and magma from craters.",
    "bread.txt": "Bakers knead dough with yeast, flour and salt before baking loaves.",
    "chess.txt": "Grandmasters move bishops, knights and rooks to checkmate the king.",
    "tides.txt": "Lunar gravity pulls oceans into tides along coastal shorelines.",
    "violin.txt": "Violinists draw bows across strings to play concertos and sonatas.",
    "bees.txt": "Honeybees gather nectar and pollen, building waxy hives with combs.",
    "rocket.txt": "Rockets burn propellant, launching satellites into orbit beyond clouds.",
    "coffee.txt": "Baristas grind roasted beans, brewing espresso with crema and steamed milk.",
    "glacier.txt": "Glaciers carve valleys slowly, leaving moraines and fjords behind.",
    "compiler.txt": "Compilers parse source code, optimise loops and emit machine instructions.",
    "garden.txt": "Gardeners prune roses, water tulips and mulch vegetable beds.",
    "cycling.txt": "Cyclists pedal uphill, shifting gears on winding mountain passes.",
}
# In the folder too, but left out by `-f txt`.
SKIPPED = {"notes.md": "Penguins huddle together on antarctic shelves through winter storms."}
QUERIES = [("lava magma craters", "volcano.txt"), ("espresso beans crema", "coffee.txt"),
           ("gears pedal uphill", "cycling.txt")]
UPSERTED = "Lighthouses guide sailors past treacherous reefs during foggy nights."
UPSERTED_FILE = "Archivists catalogue manuscripts, preserving parchment scrolls carefully."


def embed(text):
    """The stand-in's embedding: each word of four letters or more adds a ±1 vector drawn from
    its SHA-256; the SDK keeps the signs (x > 0) as bits."""
    vector = [0] * DIM
    for word in re.findall(r"[a-z]{4,}", text.lower()):
        bits = int.from_bytes(hashlib.sha256(word.encode()).digest()[:DIM // 8], "little")
        for i in range(DIM):
            vector[i] += 1 if bits >> i & 1 else -1
    return vector


def hamming_to(query, text):
    return sum((a > 0) != (b > 0) for a, b in zip(embed(query), embed(text)))


@pytest.fixture(scope="module")
def ollama():
    """A stand-in for Ollama's POST /api/embeddings on a free port of 127.0.0.1:
    {"url", "prompts"} (every prompt it embedded)."""
    prompts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if self.path != "/api/embeddings" or body.get("model") != MODEL:
                status, answer = 404, {"error": f"no model {body.get('model')!r} at {self.path}"}
            else:
                prompts.append(body["prompt"])
                status, answer = 200, {"embedding": embed(body["prompt"])}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_address[1]}/api/embeddings", "prompts": prompts}
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def xtrace():
    """The `xtrace` program of the SDK installed next to this Python."""
    program = Path(sys.executable).parent / "xtrace"
    if not program.exists():
        pytest.fail(f"the SDK's `xtrace` program is not at {program}: install it into this "
                    f"environment with pip install 'xtrace-ai-sdk[cli]==0.1.1' click "
                    f"(python/requirements-test.txt has both)", pytrace=False)
    return program


def run(xtrace, folder, *args, ok=True):
    """`xtrace ARGS` in `folder` (whose .env it reads): the finished process. With ok, a
    non-zero exit fails the test, showing what the program printed."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XTRACE_", "OPENAI_", "INFERENCE_")) and k != "DEVICE"}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    done = subprocess.run([str(xtrace), *map(str, args)], cwd=folder, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, start_new_session=True)
    if ok:
        assert done.returncode == 0, shown(done)
    return done


def shown(done):
    return (f"`{' '.join(done.args[1:])}` exited {done.returncode}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}")


def json_of(done):
    """The JSON line a `--json` command printed last."""
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, shown(done)
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        pytest.fail(f"not JSON: {shown(done)}")


def admin(server, method, *args):
    """One admin call with the SDK's own client."""
    async def go():
        client = integration(server, admin_key=server["admin"])
        try:
            return await getattr(client, method)(*args)
        finally:
            await client.close()
    return asyncio.run(go())


def write_env(folder, server, api_key, context, embedding):
    """The .env that replaces `xtrace init` (docs/sdk-cli.md)."""
    (folder / ".env").write_text(
        f'XTRACE_API_URL={server["url"]}\n'
        f'XTRACE_ADMIN_API_URL={server["url"]}/api\n'
        f'XTRACE_ORG_ID={server["org"]}\n'
        f'XTRACE_ADMIN_KEY={server["admin"]}\n'
        f'XTRACE_API_KEY={api_key}\n'
        f'XTRACE_PASS_PHRASE="{PASSPHRASE}"\n'
        f'XTRACE_EXECUTION_CONTEXT_PATH={context}\n'
        f'XTRACE_EMBEDDING_MODEL_PATH={embedding}\n')


def pickle_embedding(path, ollama):
    """What `xtrace init` pickles for Ollama, pointed at the stand-in: the SDK fixes the address
    (http://localhost:11434/api/embeddings) in the object, which keeps whatever it is given."""
    from xtrace_sdk.x_vec.inference.embedding import Embedding

    model = Embedding(provider="ollama", model_name=MODEL, dim=DIM)
    assert model.url == "http://localhost:11434/api/embeddings"
    model.url = ollama["url"]
    path.write_bytes(pickle.dumps(model))


@pytest.fixture(scope="module")
def world(server, xtrace, ollama, tmp_path_factory):
    """A key, a knowledge base it may write (made with `kb create`), an SDK context stored
    with save_to_remote, the pickled embedding, and the folder loaded with `xvec load`."""
    from xtrace_sdk.x_vec.utils.execution_context import ExecutionContext

    folder = tmp_path_factory.mktemp("xtrace-cli")
    key = admin(server, "create_api_key", "cli")
    context, embedding = folder / "exec_context.json", folder / "embed_model.pkl"
    write_env(folder, server, key["secretKey"], context, embedding)

    # The knowledge base and the key's grant first: storing a context needs write on one.
    created = json_of(run(xtrace, folder, "kb", "create", "docs", "-d", "the test's files",
                          "-p", "write", "--json"))
    assert created.get("permission") == "write" and "permissionError" not in created, created
    kb = created["id"]
    assert admin(server, "get_key_permissions", key["apiKey"]["hash"]) == [
        {"knowledgeBaseId": kb, "permission": 3}]

    ctx = ExecutionContext.create(PASSPHRASE, homomorphic_client_type="paillier",
                                  embedding_length=DIM, key_len=1024, path=str(context))

    async def store():
        client = integration(server, api_key=key["secretKey"])
        try:
            return await ctx.save_to_remote(client)
        finally:
            await client.close()
    assert asyncio.run(store()) == ctx.id
    pickle_embedding(embedding, ollama)

    files = folder / "files"
    files.mkdir()
    for name, text in {**DOCS, **SKIPPED}.items():
        (files / name).write_text(text + "\n")
    loaded = json_of(run(xtrace, folder, "xvec", "load", files, kb, "-f", "txt", "--json"))
    return {"folder": folder, "kb": kb, "key": key, "ctx": ctx, "loaded": loaded,
            "added": []}


def test_load_embeds_and_uploads_the_matching_files(world, ollama):
    assert world["loaded"] == {"kb_id": world["kb"], "matched_files": len(DOCS),
                               "chunks_loaded": len(DOCS), "status": "success"}
    # Every file's text went through the pickled model, and the skipped one did not.
    assert set(DOCS.values()) <= set(ollama["prompts"])
    assert SKIPPED["notes.md"] not in ollama["prompts"]


def test_kb_list_and_describe_show_the_grant_and_the_count(xtrace, world):
    listed = json_of(run(xtrace, world["folder"], "kb", "list", "--json"))
    mine = [kb for kb in listed if kb["id"] == world["kb"]]
    assert len(mine) == 1 and mine[0]["permissionLabel"] == 3, listed
    described = json_of(run(xtrace, world["folder"], "kb", "describe", world["kb"], "--json"))
    assert len(described) == 1, described
    described = described[0]
    assert described["name"] == "docs" and described["description"] == "the test's files"
    assert described["numberOfVectors"] == len(DOCS) + len(world["added"]), described


def test_retrieve_finds_the_file_whose_words_are_asked_for(xtrace, world, ollama):
    for query, name in QUERIES:
        found = json_of(run(xtrace, world["folder"], "xvec", "retrieve", world["kb"], query,
                            "-k", "3", "--json"))
        assert found["query"] == query and found["k"] == 3, found
        assert len(found["ids"]) == 3 and [c["id"] for c in found["chunks"]] == found["ids"]
        contents = [c["content"] for c in found["chunks"]]
        assert contents[0] == DOCS[name], (query, contents)
        # The order is the plaintext Hamming order of the stand-in's embeddings.
        distances = [hamming_to(query, text) for text in contents]
        assert distances == sorted(distances), (query, contents, distances)
        closest = sorted(hamming_to(query, text) for text in DOCS.values())
        assert distances == closest[:3], (query, distances, closest)
        assert query in ollama["prompts"]


def test_head_and_fetch_decrypt_what_was_loaded(xtrace, world):
    head = json_of(run(xtrace, world["folder"], "xvec", "head", world["kb"], "--fullChunks",
                       "--json"))
    total = len(DOCS) + len(world["added"])
    assert [row["id"] for row in head] == list(range(1, total + 1)), head
    by_id = {row["id"]: row["content"] for row in head}
    assert sorted(by_id[i] for i in range(1, len(DOCS) + 1)) == sorted(DOCS.values())

    # In the order asked for, not the ids' order.
    fetched = json_of(run(xtrace, world["folder"], "xvec", "fetch", world["kb"], 7, 2, 11,
                          "--fullChunks", "--json"))
    assert fetched == [{"id": i, "content": by_id[i]} for i in (7, 2, 11)]


def test_upsert_and_upsert_file_add_searchable_chunks(xtrace, world, server, tmp_path):
    done = run(xtrace, world["folder"], "xvec", "upsert", world["kb"], UPSERTED)
    assert "Upserted 1 chunk" in done.stdout, shown(done)
    world["added"].append(UPSERTED)
    single = tmp_path / "archive.txt"
    single.write_text(UPSERTED_FILE + "\n")
    run(xtrace, world["folder"], "xvec", "upsert-file", single, world["kb"])
    world["added"].append(UPSERTED_FILE)

    total = len(DOCS) + 2
    assert admin(server, "get_kb", world["kb"])["numberOfVectors"] == total
    # Each is found by its words, under the next id.
    for text, chunk_id, query in ((UPSERTED, total - 1, "lighthouses sailors reefs"),
                                  (UPSERTED_FILE, total, "manuscripts parchment scrolls")):
        found = json_of(run(xtrace, world["folder"], "xvec", "retrieve", world["kb"], query,
                            "-k", "1", "--json"))
        assert found["chunks"] == [{"id": chunk_id, "content": text}], found


def test_a_key_given_with_a_searches_only_where_it_may_read(xtrace, world, server):
    reader = admin(server, "create_api_key", "reader")
    query, name = QUERIES[0]
    refused = run(xtrace, world["folder"], "xvec", "retrieve", world["kb"], query, "-k", "1",
                  "-a", reader["secretKey"], "--json", ok=False)
    assert refused.returncode == 1, shown(refused)
    assert json_of(refused)["error"]["status"] == 403, shown(refused)

    admin(server, "set_key_permission", reader["apiKey"]["hash"], world["kb"], 1)
    found = json_of(run(xtrace, world["folder"], "xvec", "retrieve", world["kb"], query,
                        "-k", "1", "-a", reader["secretKey"], "--json"))
    assert found["chunks"][0]["content"] == DOCS[name], found
    # Read is not write: the same key cannot add a chunk (upsert has no -a: its own .env).
    other = world["folder"] / "reader"
    other.mkdir()
    write_env(other, server, reader["secretKey"], world["folder"] / "exec_context.json",
              world["folder"] / "embed_model.pkl")
    denied = run(xtrace, other, "xvec", "upsert", world["kb"], "Readers may not write here.",
                 ok=False)
    assert denied.returncode == 1 and "Upload failed" in denied.stdout, shown(denied)
    assert "may not write" in denied.stdout, shown(denied)
    assert admin(server, "get_kb", world["kb"])["numberOfVectors"] == (
        len(DOCS) + len(world["added"]))


def test_a_context_from_paillier_gpu_works_with_the_cli(xtrace, world, server, cli, ollama,
                                                         tmp_path):
    """The other way to a context: `paillier-gpu context create --sdk-compatible` and
    `context push`, then the CLI in a folder of its own."""
    key = admin(server, "create_api_key", "ours")
    context, embedding = tmp_path / "ctx.json", tmp_path / "embed_model.pkl"
    write_env(tmp_path, server, key["secretKey"], context, embedding)
    created = json_of(run(xtrace, tmp_path, "kb", "create", "ours", "--json"))
    assert created.get("permission") == "write", created    # -p's default

    env = {**os.environ, "PAILLIER_GPU_PASSPHRASE": PASSPHRASE,
           "PAILLIER_GPU_API_KEY": key["secretKey"]}
    made = subprocess.run([cli, "context", "create", "--type", "paillier", "--key-len", "1024",
                           "--embed-len", str(DIM), "--sdk-compatible", "--output", context],
                          env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert made.returncode == 0, made.stderr
    pushed = subprocess.run([cli, "context", "push", "--remote", server["url"], "--org",
                             server["org"], "--context", context],
                            env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["context_id"] == json.loads(made.stdout)["id"]
    pickle_embedding(embedding, ollama)

    files = tmp_path / "files"
    files.mkdir()
    for name in ("tides.txt", "chess.txt"):
        (files / name).write_text(DOCS[name])
    loaded = json_of(run(xtrace, tmp_path, "xvec", "load", files, created["id"], "--json"))
    assert loaded["chunks_loaded"] == 2, loaded
    found = json_of(run(xtrace, tmp_path, "xvec", "retrieve", created["id"],
                        "knights bishops checkmate", "-k", "2", "--json"))
    assert [c["content"] for c in found["chunks"]] == [DOCS["chess.txt"], DOCS["tides.txt"]]


def test_kb_delete_removes_a_knowledge_base(xtrace, world, server):
    created = json_of(run(xtrace, world["folder"], "kb", "create", "scratch", "-p", "none",
                          "--json"))
    assert created["permission"] == "none", created
    deleted = json_of(run(xtrace, world["folder"], "kb", "delete", created["id"], "--json"))
    assert deleted == [{"id": created["id"], "status": "deleted"}]
    gone = json_of(run(xtrace, world["folder"], "kb", "describe", created["id"], "--json"))
    assert [(g["id"], g["status"], g["code"]) for g in gone] == [(created["id"], "not_found", 404)]
    # The other knowledge base is untouched.
    assert admin(server, "get_kb", world["kb"])["numberOfVectors"] == (
        len(DOCS) + len(world["added"]))


def test_a_grants_to_the_key_it_names_among_many(xtrace, world, server):
    """`kb create -a KEY` finds KEY among the organisation's keys by its first five characters
    (`firstN`): those must tell the keys apart. Twenty keys: were they `xtr_` and one hex digit,
    two would share them (pigeonhole), and the grant would go to the earlier one."""
    keys = [admin(server, "create_api_key", f"member {i}") for i in range(20)]
    listed = admin(server, "list_api_keys")
    secret_of = {k["apiKey"]["hash"]: k["secretKey"] for k in keys}
    order = [k["hash"] for k in listed]
    # The key to name: a later one of two that share firstN if any do (the CLI would pick the
    # earlier), else one in the middle; never the first listed.
    target = next((h for i, h in enumerate(order) if h in secret_of and any(
        listed[j]["firstN"] == listed[i]["firstN"] for j in range(i))), order[len(order) // 2])
    assert target in secret_of and target != order[0]

    created = json_of(run(xtrace, world["folder"], "kb", "create", "shared", "-p", "read",
                          "-a", secret_of[target], "--json"))
    assert created.get("permission") == "read" and "permissionError" not in created, created
    holders = {h: p for h in order for p in admin(server, "get_key_permissions", h)
               if p["knowledgeBaseId"] == created["id"]}
    assert holders == {target: {"knowledgeBaseId": created["id"], "permission": 1}}, (
        f"`kb create -a` granted {holders} instead of to {target}: keys' first five characters "
        f"{[k['firstN'] for k in listed]}")

    listed_for_target = json_of(run(xtrace, world["folder"], "kb", "list", "-a",
                                    secret_of[target], "--json"))
    assert [(kb["id"], kb.get("permissionLabel")) for kb in listed_for_target] == [
        (created["id"], 1)]
    first_n = [k["firstN"] for k in listed]
    assert len(set(first_n)) == len(first_n), first_n
    assert all(secret_of[h][:5] == k["firstN"] for h, k in zip(order, listed) if h in secret_of)
