"""The client's HTTP: requests to one organisation on one service, their answers read as JSON
(integers longer than Python reads at once included), and the errors a service's answer makes."""

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .errors import RemoteError, RemoteUnreachableError  # noqa: F401  (their home was here)

#: The most digits an integer in an answer may have: a ciphertext's at key_len 4096 (n² of
#: 16,384 bits) has 4,933.
MAX_DIGITS = 5_000


class Transport:
    """HTTP to one organisation on one service (header `x-api-key`, paths ending in the
    organisation's id). `ca_cert`: a PEM file to trust besides the system's."""

    def __init__(self, url, org_id, api_key, *, ca_cert=None, timeout=600):
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the service address {url!r} must start with http:// or https://")
        if not org_id or "/" in org_id:
            raise ValueError(f"the organisation id {org_id!r} is empty or holds a '/'")
        self._url, self._org, self._key, self._timeout = url, org_id, api_key, timeout
        self._tls = ssl.create_default_context(cafile=ca_cert) if ca_cert else None

    def __repr__(self):
        return f"{type(self).__name__}(url={self._url!r}, org_id={self._org!r}, api_key=<redacted>)"

    def _drive(self, driver):
        """Runs one operation of the owner's protocol (a `_native.Driver`, which decides every
        step): sends each request it asks for and hands back the answer, until it ends."""
        answer = None
        while True:
            step = driver.step(answer)
            if step[0] == "done":
                return step[1]
            answer = self._carry(*step[1:])

    def _carry(self, method, route, tail, query, body, msgpack):
        """One request as a driver asks for it: `(status, body, msgpack, Server-Timing header)`, or
        why no answer came."""
        address = f"{self._url}/v1/{route}/{self._org}{tail}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(address, data=body, method=method)
        request.add_header("x-api-key", self._key)
        request.add_header("Accept", "application/x-msgpack, application/json" if msgpack else "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._tls) as answer:
                json_body = (answer.headers.get("Content-Type") or "").startswith("application/json")
                return answer.status, answer.read(), msgpack and not json_body, answer.headers.get("Server-Timing")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), False, None
        except (urllib.error.URLError, OSError) as error:
            return f"{address}: {error}"

    def _request(self, method, route, body=None, query=None, tail=""):
        address = f"{self._url}/v1/{route}/{self._org}{tail}"
        if query:
            address += "?" + urllib.parse.urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(address, data=data, method=method)
        request.add_header("x-api-key", self._key)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._tls) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            text = error.read()
            raise RemoteError(error.code, _message_of(text, error.reason), _json_or_none(text)) from None
        except (urllib.error.URLError, OSError) as error:
            raise RemoteUnreachableError(f"{address}: {error}") from None
        try:
            return json.loads(text, parse_int=_integer)
        except (ValueError, RecursionError) as error:
            raise RemoteUnreachableError(f"{address}: the answer is not JSON: {error}") from None

def _integer(digits):
    """An integer of the answer, refused past `MAX_DIGITS` digits; read in parts, since Python
    refuses to read more than 4,300 digits at once."""
    if len(digits) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits")
    if len(digits) <= 4_000:
        return int(digits)
    if digits.startswith("-"):
        return -_integer(digits[1:])
    head, tail = digits[:-4_000], digits[-4_000:]
    return _integer(head) * 10**4_000 + int(tail)


def _json_or_none(body):
    try:
        return json.loads(body)
    except (ValueError, RecursionError, TypeError):
        return None


def _message_of(body, fallback):
    value = _json_or_none(body)
    for key in ("message", "error", "detail"):
        if isinstance(value, dict) and key in value:
            return str(value[key])
    text = body.decode(errors="replace").strip() if isinstance(body, bytes) else str(body)
    return text[:2000] or str(fallback)


