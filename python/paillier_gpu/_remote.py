"""Contexts on an XTrace service (the hosted one, or `paillier-gpu serve`), through the SDK's
own `XTraceIntegration`: its calls are coroutines, so the loading half lives here.

What the service returns is checked before it is used: anyone who may write the organisation's
contexts could have replaced it (with their own public key, so that what is encrypted under it
is theirs to read). `from_json` with `context_id` opens it only if its public key matches its
secret key and it opens as that id, and raises ContextAlteredError otherwise."""


async def load_from_remote(passphrase, context_id, integration, key_provider, device):
    from . import ExecutionContext

    data = await integration.get_serialized_exec_context(context_id)
    return ExecutionContext.from_json(
        data, passphrase=passphrase, key_provider=key_provider, device=device, context_id=context_id
    )
