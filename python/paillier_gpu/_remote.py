"""Contexts on an XTrace service (the hosted one, or `paillier-gpu serve`), through the SDK's
own `XTraceIntegration`: its calls are coroutines, so the loading half lives here."""


async def load_from_remote(passphrase, context_id, integration, key_provider, device):
    from . import ExecutionContext

    data = await integration.get_serialized_exec_context(context_id)
    return ExecutionContext.from_json(data, passphrase=passphrase, key_provider=key_provider, device=device)
