"""`ExecutionContext.load_from_remote` checks what the service returns: a stored context whose
public key was replaced, or another whole context under the owner's id, raises
ContextAlteredError; the genuine one loads. The service is a stand-in integration object."""

import asyncio
import json

import pytest

import paillier_gpu as pg


class StandIn:
    """What `load_from_remote` asks of the SDK's `XTraceIntegration`: the stored dict."""

    def __init__(self, stored):
        self.stored = stored
        self.asked = []

    async def get_serialized_exec_context(self, context_id):
        self.asked.append(context_id)
        return self.stored


def load(passphrase, context_id, stored):
    integration = StandIn(stored)
    ctx = asyncio.run(pg.ExecutionContext.load_from_remote(passphrase, context_id, integration))
    assert integration.asked == [context_id]
    return ctx


def new(passphrase, key_len=256, embedding_length=16):
    return pg.ExecutionContext.create(
        passphrase, embedding_length=embedding_length, key_len=key_len, insecure=True
    )


def stored(ctx):
    return json.loads(ctx.serialize_exec_context())


def test_the_genuine_context_loads_and_an_altered_one_is_refused():
    owner, attacker = new("pw"), new("pw")
    assert load("pw", owner.hash(), stored(owner)).hash() == owner.hash()

    forged = dict(stored(owner), pk=stored(attacker)["pk"])
    with pytest.raises(pg.ContextAlteredError, match="was altered") as refused:
        load("pw", owner.hash(), forged)
    assert owner.hash() in str(refused.value)
    assert isinstance(refused.value, pg.AuthenticationError)

    with pytest.raises(pg.ContextAlteredError, match=f"opens as context {attacker.hash()}"):
        load("pw", owner.hash(), stored(attacker))
    # Sealed under another passphrase, a substitute fails as a wrong passphrase would.
    with pytest.raises(pg.AuthenticationError):
        load("pw", owner.hash(), stored(new("theirs")))


def test_sdk_contexts_load_and_refuse_another_public_key(sdk_cases):
    case = sdk_cases["paillier_512"]
    context = case["context"]
    passphrase, context_id = case["passphrase"], case["context_id"]
    assert load(passphrase, context_id, dict(context)).hash() == context_id
    config = json.loads(context["config"])
    other = new(passphrase, key_len=config["key_len"], embedding_length=config["embed_len"])
    with pytest.raises(pg.ContextAlteredError, match="public key does not match"):
        load(passphrase, context_id, dict(context, pk=stored(other)["pk"]))
    # Another of the SDK's contexts under the same passphrase, stored under this id.
    with pytest.raises(pg.ContextAlteredError, match="opens as context"):
        load(passphrase, context_id, dict(sdk_cases["paillier_1024"]["context"]))
