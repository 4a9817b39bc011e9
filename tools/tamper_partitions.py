"""The tampering proxy's attacks on partitioned searches (tools/tamper-proxy.py loads this
module). A partitioned search sends `{"partition": {"$in": [tokens]}}` as its metadata filter;
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
    """The partition tokens a compute_hamming request (`sent`) asks for, sorted; None for a
    search that probes no partitions."""
    text = sent.get("meta_filter")
    meta_filter = json.loads(text) if isinstance(text, str) else text
    condition = meta_filter.get("partition") if isinstance(meta_filter, dict) else None
    if not isinstance(condition, dict) or not isinstance(condition.get("$in"), list):
        return None
    return sorted(condition["$in"])


def tamper_partitions(sent, attack):
    """`sent` (a compute_hamming request) with its probed tokens changed as `attack` says."""
    if attack.get("kind") not in KINDS or "meta_filter" not in sent:
        return sent
    text = sent["meta_filter"]
    meta_filter = json.loads(text) if isinstance(text, str) else text
    condition = meta_filter.get("partition") if isinstance(meta_filter, dict) else None
    if not isinstance(condition, dict) or not isinstance(condition.get("$in"), list):
        return sent
    asked = condition["$in"]
    others = sorted(TOKENS.get(sent.get("kb_id"), set()) - set(asked))
    kind = attack["kind"]
    if kind == "drop_partition" and len(asked) > 1:
        asked = asked[:-1]
    elif kind == "swap_partition" and others:
        asked = asked[:-1] + others[:1]
    elif kind == "other_tokens" and len(others) >= len(asked):
        asked = others[:len(asked)]
    else:
        raise KeyError(f"{kind}: too few partition tokens seen to lie with")
    condition["$in"] = asked
    sent["meta_filter"] = json.dumps(meta_filter) if isinstance(text, str) else meta_filter
    return sent
