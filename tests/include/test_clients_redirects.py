"""Credentials never follow a redirect to another host: a real fake provider on 127.0.0.1 redirects to
a second server on 127.0.0.2 (another host for the client), which records every header it receives."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from include.stellar_lineage.clients.factory import Endpoint, endpoint_from_connection
from include.stellar_lineage.clients.http import ApiRequestError, HttpClient, redact_url

KEY = "sk_live_do_not_leak_0123456789"


class NoLimit:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, api: str) -> None:
        self.acquired += 1

    def observe(self, api: str, headers, status: int) -> None:
        pass


class Server:
    """One HTTP server; ``routes`` maps a path to (status, headers); everything received is kept."""

    def __init__(self, host: str) -> None:
        self.seen: list[dict] = []
        self.routes: dict[str, tuple[int, dict[str, str]]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                outer.seen.append({"path": self.path, "headers": dict(self.headers.items())})
                status, headers = outer.routes.get(self.path.split("?")[0], (200, {}))
                body = json.dumps({"host": host, "path": self.path}).encode() if status == 200 else b""
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def received_text(self) -> str:
        return json.dumps(self.seen)


@pytest.fixture
def hosts() -> Iterator[tuple[Server, Server]]:
    provider, other = Server("127.0.0.1"), Server("127.0.0.2")
    try:
        yield provider, other
    finally:
        provider.close()
        other.close()


def client(base: str, headers: dict[str, str], limiter: NoLimit | None = None) -> HttpClient:
    return HttpClient("horizon", base, limiter or NoLimit(), timeout=5, max_attempts=1, headers=headers)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {KEY}"}, {"X-Api-Key": KEY}, {"apikey": KEY, "X-Custom": "not secret"}],
    ids=["authorization", "x-api-key", "custom"],
)
def test_the_key_never_reaches_another_host(hosts, status, headers, caplog):
    provider, other = hosts
    provider.routes["/accounts/A"] = (status, {"Location": f"{other.url}/mirror/accounts/A?x=1"})
    limiter = NoLimit()
    body = client(provider.url, headers, limiter).get_json("/accounts/A", {"limit": 1})
    assert body == {"host": "127.0.0.2", "path": "/mirror/accounts/A?x=1"}  # the redirect was followed
    assert KEY in provider.received_text()  # the provider itself got the key
    assert KEY not in other.received_text() and "not secret" not in other.received_text()
    assert other.seen[0]["headers"]["User-Agent"].startswith("stellar-lineage/")
    assert limiter.acquired == 2  # the extra hop took a limiter slot
    assert "another host" in caplog.text and KEY not in caplog.text


def test_a_key_stays_dropped_when_the_other_host_redirects_back(hosts):
    provider, other = hosts
    provider.routes["/a"] = (302, {"Location": f"{other.url}/b"})
    other.routes["/b"] = (302, {"Location": f"{provider.url}/c"})
    client(provider.url, {"X-Api-Key": KEY}).get_json("/a")
    assert [s["path"] for s in provider.seen] == ["/a", "/c"]
    assert KEY in json.dumps(provider.seen[0]) and KEY not in json.dumps(provider.seen[1:]) + other.received_text()


def test_same_host_redirects_keep_the_key(hosts):
    provider, _ = hosts
    provider.routes["/old"] = (301, {"Location": "/new"})
    client(provider.url, {"X-Api-Key": KEY}).get_json("/old")
    assert [s["headers"].get("X-Api-Key") for s in provider.seen] == [KEY, KEY]


def test_url_credentials_are_not_forwarded_and_never_shown(hosts, caplog):
    provider, other = hosts
    user_url = provider.url.replace("http://", f"http://lineage:{KEY}@")
    provider.routes["/a"] = (302, {"Location": other.url.replace("http://", f"http://evil:{KEY}@") + "/b"})
    http = client(user_url, {})
    http.get_json("/a")
    assert provider.seen[0]["headers"]["Authorization"].startswith("Basic ")  # requests' URL auth
    assert "Authorization" not in other.seen[0]["headers"] and KEY not in other.received_text()
    assert KEY not in repr(http) and KEY not in http.display_url and KEY not in caplog.text
    assert KEY not in repr(Endpoint(user_url, {"X-Api-Key": KEY}))


def test_redirect_loops_stop(hosts):
    provider, _ = hosts
    provider.routes["/loop"] = (302, {"Location": "/loop"})
    with pytest.raises(ApiRequestError, match="too many redirects") as err:
        client(provider.url, {"X-Api-Key": KEY}).get_json("/loop")
    assert KEY not in str(err.value) and len(provider.seen) == 6


def test_redact_url():
    assert redact_url(f"https://u:{KEY}@horizon.example:8000/x?apikey={KEY}&b=1") == (
        "https://***@horizon.example:8000/x?apikey=***&b=***"
    )
    assert redact_url("https://horizon.stellar.org") == "https://horizon.stellar.org"


def test_connection_with_credentials_in_the_host_is_masked(monkeypatch):
    masked = []
    monkeypatch.setattr("include.stellar_lineage.clients.factory._mask", masked.append)

    class Conn:
        conn_id, schema, port, password, extra_dejson = "horizon_public", None, None, None, {}
        host = f"https://lineage:{KEY}@horizon.example"

    endpoint = endpoint_from_connection(Conn())
    assert masked == [KEY] and KEY not in repr(endpoint)
