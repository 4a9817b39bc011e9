"""`paillier-gpu serve --tls-cert --tls-key`: HTTPS with rustls, on a certificate the test makes;
a client that trusts it is served, plain HTTP is not."""

import datetime
import http.client
import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_a_given_certificate(cli, tmp_path):
    cert, key = self_signed(tmp_path)
    data = tmp_path / "store"
    org = json.loads(subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "t"],
                                    capture_output=True, text=True, check=True).stdout)
    port = free_port()
    server = subprocess.Popen([cli, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                               "--device", "cpu", "--tls-cert", cert, "--tls-key", key],
                              stderr=subprocess.PIPE, text=True)
    try:
        assert f"serving on https://127.0.0.1:{port}" in server.stderr.readline()
        trusted = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"https://localhost:{port}/healthz", context=trusted) as answer:
            assert answer.read() == b"ok"
        request = urllib.request.Request(f"https://localhost:{port}/api/v1/kbs",
                                         headers={"x-xtrace-key": org["admin_key"], "x-xtrace-org-id": org["org_id"]})
        with urllib.request.urlopen(request, context=trusted) as answer:
            assert json.loads(answer.read()) == []
        # An untrusting client and a plain-HTTP one are not served.
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"https://localhost:{port}/healthz", context=ssl.create_default_context())
        with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with urllib.request.urlopen(f"https://localhost:{port}/healthz", context=trusted) as answer:
            assert answer.read() == b"ok"
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
    # A key file that is not one: a clear error, no server.
    (tmp_path / "bad.pem").write_text("not a key")
    bad = subprocess.run([cli, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--tls-cert", cert,
                          "--tls-key", tmp_path / "bad.pem"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "private key" in bad.stderr
