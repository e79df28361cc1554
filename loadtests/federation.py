#!/usr/bin/env python3
"""Sign-in latency, local and federated, on one Tessera (issue 11): each iteration is a fresh
browser (its own cookie jars) that runs a whole code-flow sign-in and stops at the client's
redirect URI, the code in hand.

  local      /authorize -> login page -> POST /login (argon2id) -> 303 to the client
  federated  /authorize?idp_hint -> 303 to the upstream tenant's /authorize -> its login page ->
             POST its /login (argon2id) -> 303 to /federation/{idp}/callback -> (code exchanged
             at the upstream's token endpoint, its ID token verified, the local user linked, a
             session started) -> the continue page naming the client's redirect URI

The upstream is a second tenant of the same server (reached over HTTP, as any provider), so the
federated path includes the upstream's own work. Rounds alternate the two cases; prints each
round's median and the medians over all rounds, in milliseconds.

Usage: federation.py BASE_URL ADMIN_KEY [ROUNDS] [PER_ROUND]
"""
import html
import json
import re
import statistics
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE, KEY = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
PER_ROUND = int(sys.argv[4]) if len(sys.argv) > 4 else 40
PASSWORD = "correct horse battery staple"
APP = "https://app.example/cb"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def admin(method, path, body):
    status, _, text = call(method, f"{BASE}/api/v1/tenants{path}", json.dumps(body).encode(),
                           {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    if status >= 300:
        sys.exit(f"{method} {path}: {status} {text}")
    return json.loads(text) if text else None


class Browser:
    """Cookies per tenant path, as a browser scopes Tessera's http cookies."""

    def __init__(self):
        self.jars = {}

    def send(self, method, url, form=None):
        path = urllib.parse.urlsplit(url).path
        tenant = "/".join(path.split("/")[:3])
        jar = self.jars.setdefault(tenant, {})
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = BASE
        status, resp_headers, text = call(method, url, body, headers)
        for raw in resp_headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in raw:
                jar.pop(name, None)
            else:
                jar[name] = value
        return status, resp_headers.get("Location"), text


def hidden(page, name):
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    return html.unescape(m.group(1))


def login(browser, page_url, page, username):
    form = {"csrf": hidden(page, "csrf"), "request": hidden(page, "request"),
            "username": username, "password": PASSWORD}
    return browser.send("POST", urllib.parse.urljoin(page_url, "login"), form)


def authorize_url(client_id, extra=""):
    q = urllib.parse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": APP,
                                "scope": "openid email", "state": "s", "nonce": "n",
                                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                "code_challenge_method": "S256"})
    return f"{BASE}/t/default/authorize?{q}{extra}"


def local(client_id):
    b = Browser()
    url = authorize_url(client_id)
    status, _, page = b.send("GET", url)
    status, location, _ = login(b, url, page, "bob")
    assert status == 303 and location.startswith(APP) and "code=" in location, (status, location)


def federated(client_id, idp):
    b = Browser()
    status, location, _ = b.send("GET", authorize_url(client_id, f"&idp_hint={idp}"))
    assert status == 303, status
    upstream = urllib.parse.urljoin(BASE, location)
    status, _, page = b.send("GET", upstream)
    status, location, _ = login(b, upstream, page, "alice")
    assert status == 303 and "/federation/" in location, (status, location)
    status, _, page = b.send("GET", urllib.parse.urljoin(BASE, location))
    href = html.unescape(re.search(r'id="continue" href="([^"]*)"', page).group(1))
    assert href.startswith(APP) and "code=" in href, href


def main():
    admin("POST", "", {"id": "upstream"})
    admin("POST", "/upstream/users", {"username": "alice", "password": PASSWORD,
                                       "email": "alice@up.example", "email_verified": True})
    admin("POST", "/default/users", {"username": "bob", "password": PASSWORD})
    up = admin("POST", "/upstream/clients", {"grant_types": ["authorization_code"], "first_party": True,
                                              "redirect_uris": ["http://127.0.0.1/x"], "scope": "openid email"})
    idp = admin("POST", "/default/idps", {"id": "upstream", "issuer": f"{BASE}/t/upstream",
                                          "client_id": up["client_id"], "client_secret": up["client_secret"],
                                          "scope": "openid email"})
    admin("PATCH", f"/upstream/clients/{up['client_id']}", {"redirect_uris": [idp["redirect_uri"]]})
    app = admin("POST", "/default/clients", {"grant_types": ["authorization_code"], "first_party": True,
                                              "redirect_uris": [APP], "scope": "openid email"})
    cases = {"local": lambda: local(app["client_id"]), "federated": lambda: federated(app["client_id"], "upstream")}
    for run in cases.values():
        run()  # warm-up: the JIT user exists, the upstream's keys are cached
    medians = {name: [] for name in cases}
    for r in range(ROUNDS):
        for name, run in cases.items():
            took = []
            for _ in range(PER_ROUND):
                start = time.perf_counter()
                run()
                took.append((time.perf_counter() - start) * 1000)
            medians[name].append(statistics.median(took))
            print(f"round {r + 1} {name}: median {statistics.median(took):.1f} ms over {PER_ROUND}")
    print("# median of round medians, ms")
    for name, values in medians.items():
        print(f"{name} {statistics.median(values):.1f}")
    print(f"added {statistics.median(medians['federated']) - statistics.median(medians['local']):.1f}")


main()
