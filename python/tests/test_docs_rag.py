"""Every Python block of docs/rag.md runs as written, in order, against a real `serve`, with what
the page says it is given: `client`, `kb_id` and `llama_kb_id` (new knowledge bases), `ctx`,
and the frameworks' test embedding models as `embeddings` and `embed_model`."""

import re
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.embeddings import MockEmbedding

import paillier_gpu as pg
from paillier_gpu.client import Client

from test_owner_digest import Server

PAGE = Path(__file__).resolve().parents[2] / "docs" / "rag.md"


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("rag-docs-server"))
    yield server
    server.stop()


def test_every_block_of_the_page_runs(server, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) == 2
    ctx = pg.ExecutionContext.create("pw", embedding_length=256, key_len=1024, insecure=True)
    kb_id, key = server.kb_and_key("rag-docs")
    llama_kb_id, _ = server.kb_and_key("rag-docs-llama")
    client = Client(server.url, server.org, key, state_dir=tmp_path / "owner")
    client.push_context(ctx)
    namespace = {"client": client, "kb_id": kb_id, "llama_kb_id": llama_kb_id, "ctx": ctx,
                 "embeddings": DeterministicFakeEmbedding(size=32), "embed_model": MockEmbedding(embed_dim=32)}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - our own page
    assert [d.id for d in namespace["store"].get_by_ids(["cat", "dog"])] == ["cat"]
