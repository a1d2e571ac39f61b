#!/usr/bin/env python3
"""Reference signatures for mortar-signing's differential tests.

Prints one JSON object on stdout: for each scheme, the inputs and what the
reference implementation produced. The Rust test (tests/signing/differential.rs)
feeds the same inputs to mortar-signing and compares. Exit code 3 with a
message on stderr means a reference package is missing (the test then skips).

Needs: pip install botocore standardwebhooks http-message-signatures
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    import standardwebhooks
    import http_message_signatures as hms
    from http_message_signatures import algorithms as hms_alg
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"missing reference package: {exc.name}", file=sys.stderr)
    sys.exit(3)

AWS_KEY = "AKIDEXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_TIME = datetime.datetime(2015, 8, 30, 12, 36, 0)
# Freeze botocore's clock at the test suite's instant.
botocore.auth.get_current_datetime = lambda *a, **k: AWS_TIME

HOST = "example.amazonaws.com"

# (name, service, method, target, headers, body, session token)
AWS_CASES = [
    ("get-vanilla", "service", "GET", "/", [], b"", None),
    ("post-vanilla", "service", "POST", "/", [], b"", None),
    ("get-vanilla-query-order-key-case", "service", "GET", "/?Param2=value2&Param1=value1", [], b"", None),
    ("get-vanilla-query-order-value", "service", "GET", "/?Param1=value2&Param1=Value1", [], b"", None),
    ("get-vanilla-query-unreserved", "service", "GET",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b"", None),
    ("get-vanilla-empty-query-key", "service", "GET", "/?Param1=value1", [], b"", None),
    ("post-header-key-case", "service", "POST", "/", [], b"", None),
    ("post-header-key-sort", "service", "POST", "/", [("My-Header1", "value1")], b"", None),
    ("post-header-value-case", "service", "POST", "/", [("My-Header1", "VALUE1")], b"", None),
    ("get-header-value-trim", "service", "GET", "/",
     [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')], b"", None),
    ("get-header-key-duplicate", "service", "GET", "/",
     [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")], b"", None),
    ("get-header-value-multiline-collapsed", "service", "GET", "/", [("My-Header1", "value1 value2 value3")], b"", None),
    ("post-x-www-form-urlencoded", "service", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded")], b"Param1=value1", None),
    ("post-x-www-form-urlencoded-parameters", "service", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], b"Param1=value1", None),
    ("get-slashes", "service", "GET", "//example//", [], b"", None),
    ("get-slash-dot-slash", "service", "GET", "/./", [], b"", None),
    ("get-relative-relative", "service", "GET", "/example1/example2/../..", [], b"", None),
    ("get-relative", "service", "GET", "/example/..", [], b"", None),
    ("get-slash-pointless-dot", "service", "GET", "/./example", [], b"", None),
    ("get-space-as-sent", "service", "GET", "/example%20space/", [], b"", None),
    ("get-utf8-as-sent", "service", "GET", "/%E1%88%B4", [], b"", None),
    ("get-space-suite-raw", "service", "GET", "/example space/", [], b"", None),
    ("get-utf8-suite-raw", "service", "GET", "/\u1234", [], b"", None),
    ("get-unreserved", "service", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b"", None),
    ("post-sts-header-after", "service", "POST", "/", [], b"",
     "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="),
    ("json-body-and-encoded-query", "execute-api", "POST", "/v1/items/a%2Fb?q=x%2Fy&limit=10&a=",
     [("Content-Type", "application/json"), ("X-Custom", "  spaced   out  ")], b'{"k": "v"}', None),
    ("s3-get-object", "s3", "GET", "/my%20bucket/./key//x", [("Range", "bytes=0-9")], b"", None),
    ("s3-put-object", "s3", "PUT", "/bucket/key.txt", [("Content-Type", "text/plain")], b"hello world", None),
]


def aws_cases():
    out = []
    for name, service, method, target, headers, body, token in AWS_CASES:
        req = AWSRequest(method=method, url=f"https://{HOST}{target}", data=body)
        # HTTPHeaders appends on assignment, which is how repeats are sent.
        req.headers["Host"] = HOST
        for k, v in headers:
            req.headers[k] = v
        signer_class = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
        creds = Credentials(AWS_KEY, AWS_SECRET, token)
        signer_class(creds, service, "us-east-1").add_auth(req)
        out.append({
            "name": name,
            "service": service,
            "method": method,
            "target": target,
            "headers": [["Host", HOST]] + [list(h) for h in headers],
            "body": body.decode(),
            "session_token": token,
            "authorization": req.headers["Authorization"],
            "x_amz_date": req.headers["X-Amz-Date"],
            "x_amz_content_sha256": req.headers.get("X-Amz-Content-SHA256"),
        })
    return out


def standard_webhooks_cases():
    secret = "whsec_" + base64.b64encode(b"mortar differential test key 32b").decode()
    out = []
    for msg_id, ts, body in [("msg_1", 1700000000, '{"a":1}'), ("msg_2xZ", 1614265330, ""), ("id.with.dots", 1, "\u00e9 \n x")]:
        sig = standardwebhooks.Webhook(secret).sign(msg_id, datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc), body)
        out.append({"secret": secret, "id": msg_id, "timestamp": ts, "body": body, "signature": sig})
    return out


def plain_hmac_cases():
    key = "plain hmac key"
    out = []
    for ts, body in [(1700000000, '{"id":"evt_1"}'), (1531420618, "token=xyz&team_id=T1&text=hi")]:
        mac = lambda data: hmac.new(key.encode(), data.encode(), hashlib.sha256).hexdigest()
        out.append({
            "secret": key, "timestamp": ts, "body": body,
            "stripe": f"t={ts},v1={mac(f'{ts}.{body}')}",
            "slack": f"v0={mac(f'v0:{ts}:{body}')}",
            "github": f"sha256={mac(body)}",
        })
    return out


class _Message:
    def __init__(self, method, url, headers):
        self.method = method
        self.url = url
        self.headers = headers


def rfc9421_cases():
    key = b"mortar rfc9421 shared secret"
    signer = hms.HTTPMessageSigner(
        signature_algorithm=hms_alg.HMAC_SHA256,
        key_resolver=hms.MappingKeyResolver(public_keys={}, private_keys={"k1": key}),
    )
    cases = [
        ("POST", "https://example.com/foo?param=Value&Pet=dog", {"Host": "example.com", "Content-Type": "application/json"},
         b'{"hello": "world"}', ("@method", "@authority", "@path", "@query", "content-type", "content-digest"), "n-1", True),
        ("GET", "https://api.example.com:8443/a/b", {"Host": "api.example.com:8443"},
         None, ("@method", "@target-uri", "@scheme", "@request-target", "@query"), None, False),
        ("DELETE", "http://Example.COM:80/x?y", {"X-Trace": "  t1  "},
         None, ("@method", "@authority", "@path", "@query", "x-trace"), "nonce-2", True),
    ]
    out = []
    for method, url, headers, body, components, nonce, include_alg in cases:
        msg = _Message(method, url, dict(headers))
        signer.sign(
            msg, key_id="k1", created=datetime.datetime.fromtimestamp(1700000000, tz=datetime.timezone.utc),
            nonce=nonce, label="sig1", include_alg=include_alg, covered_component_ids=components, body=body,
        )
        out.append({
            "method": method, "url": url, "body": (body or b"").decode(),
            "components": list(components), "nonce": nonce, "include_alg": include_alg,
            "headers": [[k, v] for k, v in msg.headers.items()],
            "key_b64": base64.b64encode(key).decode(),
        })
    return out


json.dump({
    "aws": aws_cases(),
    "standard_webhooks": standard_webhooks_cases(),
    "plain_hmac": plain_hmac_cases(),
    "rfc9421": rfc9421_cases(),
}, sys.stdout, indent=1)
