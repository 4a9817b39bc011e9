"""The tampering proxy's attacks on answers of sealed vectors (tools/tamper-proxy.py loads this
module): `POST /v1/sealed_pages` answers pages one after another, each

    format (1) | partition (4, BE) | GCM nonce (12) | count (4, BE) | ids (count x 8, BE)
    | sealed vectors (count x vector_bytes) | GCM tag (16)

and the proxy changes them as told; every attack takes `vector_bytes` (the vectors' bytes,
embed_len / 8 rounded up), to find where each page ends:

  page_drop      {}              the last page left out (its records missing)
  page_twice     {}              the first page answered twice (its records duplicated)
  page_flip      {}              a bit of the first page's sealed vectors flipped (forged)
  page_ids       {}              the first page's first two ids exchanged (records relabelled)
  page_partition {}              the first page's clear partition set to the last page's
                                 (a page relabelled as another partition's)
  page_foreign   {"from_kb": K}  the first page replaced by the first page of the last answer
                                 for knowledge base K (another knowledge base's record)
  page_replay    {}              the previous answer for the knowledge base (another query's
                                 partitions)

The caller holds the proxy's lock."""

HEADER = 1 + 4 + 12 + 4
TAG = 16
KINDS = ("page_drop", "page_twice", "page_flip", "page_ids", "page_partition", "page_foreign",
         "page_replay")
LAST_PAGES = {}  # knowledge base -> the last honest answer of sealed pages


def pages_of(answer, vector_bytes):
    """The pages of `answer`, each its bytes."""
    pages, at = [], 0
    while at < len(answer):
        count = int.from_bytes(answer[at + 17:at + 21], "big")
        end = at + HEADER + count * (8 + vector_bytes) + TAG
        if count == 0 or end > len(answer):
            raise ValueError(f"the sealed pages do not read at byte {at}")
        pages.append(bytearray(answer[at:end]))
        at = end
    return pages


def tamper_pages(kb, answer, attack):
    """`answer` (sealed pages of `kb`) as `attack` says; remembers the honest one."""
    previous = LAST_PAGES.get(kb)
    LAST_PAGES[kb] = answer
    kind = attack.get("kind")
    if kind not in KINDS:
        return answer
    pages = pages_of(answer, int(attack["vector_bytes"]))
    if not pages:
        raise KeyError(f"{kind}: no page to lie with")
    first = pages[0]
    if kind == "page_drop":
        pages.pop()
    elif kind == "page_twice":
        pages.insert(1, bytearray(first))
    elif kind == "page_flip":
        count = int.from_bytes(first[17:21], "big")
        first[HEADER + 8 * count] ^= 1
    elif kind == "page_ids":
        if int.from_bytes(first[17:21], "big") < 2:
            raise KeyError("page_ids: the first page holds one record")
        a, b = first[HEADER:HEADER + 8], first[HEADER + 8:HEADER + 16]
        first[HEADER:HEADER + 16] = b + a
    elif kind == "page_partition":
        if len(pages) < 2 or pages[-1][1:5] == first[1:5]:
            raise KeyError("page_partition: no page of another partition in the answer")
        first[1:5] = pages[-1][1:5]
    elif kind == "page_foreign":
        foreign = LAST_PAGES.get(attack["from_kb"])
        if not foreign:
            raise KeyError(f"no sealed pages of knowledge base {attack['from_kb']} seen yet")
        pages[0] = pages_of(foreign, int(attack["vector_bytes"]))[0]
    elif kind == "page_replay":
        if previous is None:
            raise KeyError("page_replay: no earlier answer for the knowledge base")
        return previous
    return b"".join(bytes(page) for page in pages)
