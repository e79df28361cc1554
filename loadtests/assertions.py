#!/usr/bin/env python3
"""Writes a partner's ES256 key and N signed JWT bearer assertions for loadtests/jwt_bearer.sh.

Usage: assertions.py KEY_OUT JWKS_OUT            make a key; write its PEM and its public JWK Set
       assertions.py sign KEY_PEM AUD N OUT      N assertions for AUD, one form body per line

Each assertion has its own jti (the grant refuses a second use), iat now and exp in 10 minutes.
Needs the `cryptography` package.
"""
import base64
import json
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://partner.example"
GRANT = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(key_out: str, jwks_out: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with open(key_out, "wb") as f:
        f.write(pem)
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "kid": "load", "alg": "ES256", "use": "sig",
           "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}
    with open(jwks_out, "w") as f:
        json.dump({"keys": [jwk]}, f)


def sign(key_pem: str, aud: str, n: int, out: str) -> None:
    with open(key_pem, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    header = b64(json.dumps({"alg": "ES256", "kid": "load", "typ": "JWT"}).encode())
    now = int(time.time())
    with open(out, "w") as f:
        for i in range(n):
            claims = {"iss": ISSUER, "sub": f"user{i % 1000}@partner.example", "aud": aud,
                      "iat": now, "exp": now + 600, "jti": f"load-{now}-{i}"}
            signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
            r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
            sig = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            f.write(f"grant_type={GRANT}&assertion={signing_input}.{sig}\n")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        make_key(sys.argv[1], sys.argv[2])
    elif len(sys.argv) == 6 and sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(__doc__)
