#!/usr/bin/env python3
"""Peak memory of password work: starts `tessera serve` (the binary given), then sends N wrong
logins at once from N loopback addresses (127.0.1.1, 127.0.1.2, ...), each to a username of its
own so no login limit is involved, and prints the server's peak RSS (VmHWM) before and after
with the answers' statuses. Extra arguments go to `tessera serve`, e.g. to compare bounds:

    scripts/password-rss.py target/release/tessera 120
    scripts/password-rss.py target/release/tessera 120 --max-concurrent-password-checks 1000

Standard library only; Linux only (it reads /proc). Not a test: the numbers go into
docs/security.md."""
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections import Counter

TENANT = "rss"
CB = "https://app.example/cb"


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def request(port, method, path, body=None, headers=None, source="127.0.0.1"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), data.decode("utf-8", "replace")


def admin(port, key, path, body):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    status, _, text = request(port, "POST", f"/api/v1{path}", json.dumps(body), headers)
    if status not in (200, 201):
        raise RuntimeError(f"{path}: {status} {text}")
    return json.loads(text)


def hidden(html, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m.group(1).replace("&#x2F;", "/").replace("&amp;", "&").replace("&quot;", '"')


def main():
    binary, n, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    key = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env.update(TESSERA_ADMIN_KEY=key, TESSERA_LOG="warn")
        server = subprocess.Popen(
            [binary, "serve", "--data-dir", data, "--listen", "127.0.0.1:0",
             "--login-attempts-per-ip-per-minute", "1000", *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in server.stdout:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    port = int(m.group(1))
                    break
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            admin(port, key, "/tenants", {"id": TENANT, "display_name": "RSS"})
            client = admin(port, key, f"/tenants/{TENANT}/clients", {
                "grant_types": ["authorization_code"], "redirect_uris": [CB],
                "scope": "openid", "first_party": True})
            query = urllib.parse.urlencode({
                "client_id": client["client_id"], "response_type": "code", "redirect_uri": CB,
                "scope": "openid", "state": "s"})
            forms = []
            for i in range(n):
                source = f"127.0.1.{i + 1}"
                _, headers, page = request(port, "GET", f"/t/{TENANT}/authorize?{query}", source=source)
                cookies = "; ".join(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie")
                body = urllib.parse.urlencode({
                    "csrf": hidden(page, "csrf"), "request": hidden(page, "request"),
                    "username": f"user{i}", "password": "wrong password"})
                forms.append((source, cookies, body))
            before = vm_hwm_kib(server.pid)
            start = threading.Barrier(n)
            statuses = Counter()

            def login(source, cookies, body):
                start.wait()
                status, _, _ = request(port, "POST", f"/t/{TENANT}/login", body, {
                    "Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"},
                    source=source)
                statuses[status] += 1

            threads = [threading.Thread(target=login, args=f) for f in forms]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = vm_hwm_kib(server.pid)
            print(f"flags {' '.join(extra) or '(defaults)'}: {n} parallel wrong logins; "
                  f"statuses {dict(sorted(statuses.items()))}; peak RSS {before / 1024:.0f} MiB "
                  f"before, {after / 1024:.0f} MiB after (+{(after - before) / 1024:.0f} MiB)")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
