"""The tampering proxy's attacks on partitioned searches (tools/tamper-proxy.py loads this
module). A partitioned search sends `{"partition": {"$in": [tokens]}}` as its metadata filter
(a search of sealed vectors, `{"tokens": [tokens]}` to `POST /v1/sealed_pages`);
the proxy learns each knowledge base's partition tokens from the records written through it and
changes which partitions the service is asked for:

  drop_partition  {}   the last probed token left out: a whole probed partition missing
  swap_partition  {}   the last probed token replaced by one not probed: one partition's
                       records answered for another's
  other_tokens    {}   every probed token replaced by as many others: an answer for a different
                       set of tokens than those asked

The caller holds the proxy's lock."""

import json

TOKENS = {}  # knowledge base -> the partition tokens seen in its records' metadata
KINDS = ("drop_partition", "swap_partition", "other_tokens")


def learn_tokens(kb, chunks):
    """Remembers the partition tokens of `chunks` (records written or fetched) of `kb`."""
    for chunk in chunks:
        meta = chunk.get("meta_data") if isinstance(chunk, dict) else None
        token = meta.get("partition") if isinstance(meta, dict) else None
        if isinstance(token, str) and token:
            TOKENS.setdefault(kb, set()).add(token)


def probed_tokens(sent):
    """The partition tokens a compute_hamming or sealed pages request (`sent`) asks for,
    sorted; None for a search that probes no partitions."""
    if isinstance(sent.get("tokens"), list):
        return sorted(sent["tokens"])
    text = sent.get("meta_filter")
    meta_filter = json.loads(text) if isinstance(text, str) else text
    condition = meta_filter.get("partition") if isinstance(meta_filter, dict) else None
    if not isinstance(condition, dict) or not isinstance(condition.get("$in"), list):
        return None
    return sorted(condition["$in"])


def tamper_partitions(sent, attack):
    """`sent` (a compute_hamming or sealed pages request) with its probed tokens changed as
    `attack` says."""
    if attack.get("kind") not in KINDS:
        return sent
    if isinstance(sent.get("tokens"), list):
        sent["tokens"] = changed(sent["tokens"], sent.get("kb_id"), attack["kind"])
        return sent
    if "meta_filter" not in sent:
        return sent
    text = sent["meta_filter"]
    meta_filter = json.loads(text) if isinstance(text, str) else text
    condition = meta_filter.get("partition") if isinstance(meta_filter, dict) else None
    if not isinstance(condition, dict) or not isinstance(condition.get("$in"), list):
        return sent
    condition["$in"] = changed(condition["$in"], sent.get("kb_id"), attack["kind"])
    sent["meta_filter"] = json.dumps(meta_filter) if isinstance(text, str) else meta_filter
    return sent


def changed(asked, kb, kind):
    """The tokens `asked` of `kb`'s partitions, changed as attack `kind` says."""
    others = sorted(TOKENS.get(kb, set()) - set(asked))
    if kind == "drop_partition" and len(asked) > 1:
        return asked[:-1]
    if kind == "swap_partition" and others:
        return asked[:-1] + others[:1]
    if kind == "other_tokens" and len(others) >= len(asked):
        return others[:len(asked)]
    raise KeyError(f"{kind}: too few partition tokens seen to lie with")
