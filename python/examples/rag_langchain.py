"""Retrieval-augmented search with LangChain over a service that sees nothing it could read.

    pip install "paillier-gpu[langchain]" wordllama
    python rag_langchain.py                      # starts `paillier-gpu serve` (on the PATH)
    python rag_langchain.py --program PATH       # or that program
    python rag_langchain.py --url URL --org ORG --key KEY --kb KB   # or a service of yours

Nothing is fetched from the network. The corpus is the docstrings of Python's standard library
(a few thousand passages: each documented function, class and method's first paragraph), the
embedding model WordLlama's `l2_supercat_256`, whose weights ship inside the `wordllama` wheel.
Each passage goes into `paillier_gpu.langchain.PaillierVectorStore`: its embedding projected onto
the context's bits by the owner's hyperplanes, its vector and its text sealed; each question goes
through a LangChain retriever, verified whole, and the passages are printed with their verified
Hamming distances.
"""

import argparse
import inspect
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from langchain_core.embeddings import Embeddings

import paillier_gpu as pg
from paillier_gpu.client import Client
from paillier_gpu.langchain import PaillierVectorStore

MODULES = [
    "argparse", "asyncio", "base64", "bisect", "calendar", "collections", "concurrent.futures",
    "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib",
    "email.message", "enum", "fnmatch", "fractions", "functools", "glob", "gzip", "hashlib",
    "heapq", "hmac", "html", "http.client", "http.server", "inspect", "io", "ipaddress",
    "itertools", "json", "logging", "math", "mimetypes", "operator", "os", "os.path", "pathlib",
    "pickle", "platform", "pprint", "queue", "random", "re", "secrets", "shlex", "shutil",
    "signal", "socket", "sqlite3", "ssl", "statistics", "string", "struct", "subprocess", "sys",
    "tarfile", "tempfile", "textwrap", "threading", "time", "timeit", "tomllib", "typing",
    "unittest", "urllib.parse", "urllib.request", "uuid", "warnings", "weakref",
    "xml.etree.ElementTree", "zipfile", "zlib", "array", "ast", "binascii", "bz2", "cmd", "codecs",
    "ctypes", "dis", "email.utils", "filecmp", "fileinput", "ftplib", "getopt", "gettext",
    "graphlib", "http.cookies", "imaplib", "importlib", "linecache", "locale", "lzma",
    "multiprocessing", "optparse", "pkgutil", "plistlib", "reprlib", "runpy", "sched",
    "selectors", "smtplib", "stat", "sysconfig", "tokenize", "trace", "traceback", "types",
    "zoneinfo",
]

QUESTIONS = [
    "How do I join two parts of a file system path?",
    "Parse a JSON document into Python objects",
    "Run a program and capture what it prints",
    "The middle value of a list of numbers",
    "Make a temporary directory that is removed afterwards",
    "Insert into a sorted list and keep it sorted",
]


def passages():
    """Each documented function, class and method of `MODULES`: its name and the first
    paragraph of its docstring."""
    import importlib

    found, seen = [], set()
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        members = [(name, module)] + [(f"{name}.{attr}", value) for attr, value in vars(module).items()
                                      if not attr.startswith("_")]
        for qualified, value in list(members):
            if inspect.isclass(value):
                members += [(f"{qualified}.{attr}", member) for attr, member in vars(value).items()
                            if not attr.startswith("_") and callable(member)]
        for qualified, value in members:
            if not (inspect.ismodule(value) or inspect.isclass(value) or callable(value)):
                continue
            doc = inspect.getdoc(value) or ""
            paragraph = " ".join(doc.split("\n\n")[0].split())
            if len(paragraph) >= 40 and paragraph not in seen:
                seen.add(paragraph)
                found.append((qualified, paragraph[:600]))
    return found


class WordLlamaEmbeddings(Embeddings):
    """WordLlama's 256-dimension model from the files inside its wheel (nothing downloaded)."""

    def __init__(self):
        import wordllama
        from wordllama import WordLlama

        # The wheel ships its tokenizer in `tokenizers/`; `load` looks in a cache of that shape.
        cache = Path(tempfile.mkdtemp(prefix="wordllama-"))
        (cache / "tokenizers").mkdir()
        shipped = Path(wordllama.__file__).parent / "tokenizers" / "l2_supercat_tokenizer_config.json"
        shutil.copy(shipped, cache / "tokenizers" / shipped.name)
        self.model = WordLlama.load("l2_supercat", dim=256, cache_dir=cache, disable_download=True)

    def embed_documents(self, texts):
        return self.model.embed(texts, norm=True).tolist()

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def local_service(program, folder):
    """`paillier-gpu serve` on 127.0.0.1 with a fresh data folder, a knowledge base and a key
    that may use it: (url, org, key, kb, process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    init = json.loads(subprocess.run([program, "server", "init", "--data-dir", folder, "--org", "rag"],
                                     capture_output=True, text=True, check=True).stdout)
    process = subprocess.Popen([program, "serve", "--data-dir", folder, "--listen", f"127.0.0.1:{port}",
                                "--device", "cpu"], stderr=subprocess.PIPE, text=True)
    if "serving on" not in process.stderr.readline():
        raise SystemExit(f"{program} serve did not start")
    threading.Thread(target=process.stderr.read, daemon=True).start()
    url, org = f"http://127.0.0.1:{port}", init["org_id"]

    def admin(method, path, body):
        request = urllib.request.Request(f"{url}/api/v1/{path}", method=method, data=json.dumps(body).encode())
        request.add_header("x-xtrace-key", init["admin_key"])
        request.add_header("x-xtrace-org-id", org)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read() or b"null")

    key = admin("POST", "keys", {"name": "owner", "description": ""})
    kb = admin("POST", "kbs", {"name": "stdlib", "description": ""})["id"]
    admin("PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
    return url, org, key["secretKey"], kb, process


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program", default=shutil.which("paillier-gpu"),
                        help="the paillier-gpu program to start a local service with")
    for flag in ("--url", "--org", "--key", "--kb"):
        parser.add_argument(flag, help="a service of yours instead (all four)")
    args = parser.parse_args()
    process = None
    if args.url:
        url, org, key, kb = args.url, args.org, args.key, args.kb
    else:
        if not args.program:
            raise SystemExit("paillier-gpu is not on the PATH: pass --program, or --url/--org/--key/--kb")
        url, org, key, kb, process = local_service(args.program, tempfile.mkdtemp(prefix="rag-serve-"))
    try:
        corpus = passages()
        print(f"{len(corpus)} passages from the standard library's docstrings", file=sys.stderr)
        ctx = pg.ExecutionContext.create(passphrase="an owner's passphrase", embedding_length=512)
        client = Client(url, org, key, state_dir=tempfile.mkdtemp(prefix="rag-owner-"))
        client.push_context(ctx)
        store = PaillierVectorStore(WordLlamaEmbeddings(), client=client, kb_id=kb, context=ctx,
                                    filterable=("module",), rerank=10)
        store.add_texts([text for _, text in corpus],
                        [{"name": name, "module": name.split(".")[0]} for name, _ in corpus])
        retriever = store.as_retriever(search_kwargs={"k": 3})
        for question in QUESTIONS:
            print(f"\n{question}")
            for doc in retriever.invoke(question):
                print(f"  {doc.metadata['name']}: {doc.page_content[:100]}")
        # The scores a retriever leaves out: each hit's verified distance.
        print("\nWith their distances (cosine, among the 30 nearest by Hamming distance):")
        for doc, distance in store.similarity_search_with_score(QUESTIONS[0], k=3):
            print(f"  {distance:.3f}  {doc.metadata['name']}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
