"""End to end: a real ``airflow api-server`` with the plugin, a seeded SQLite store and headless
Chromium logging in through Airflow's own login page.

Needs the Debian ``chromium`` package (``apt-get install -y chromium``). Screenshots are kept in
``artifacts/e2e/`` (git-ignored; CI uploads them). Every process started here is stopped in a
``finally`` even when an assertion fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.e2e.cdp import Browser
from tests.plugins.seed_lineage import K2, K3, ROOT, seed
from tests.support.processes import free_port
from tests.support.seed_shapes import DERIVED, shapes
from tests.support.explorer_data import seed_testnet_chain
from tests.support.trend_data import seed_trends, trend_account

pytestmark = pytest.mark.slow_module(80)  # rough wall time (s): started first under pytest-xdist

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "artifacts" / "e2e"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
START_TIMEOUT = 600  # a bound, not a speed check: several test workers may be starting Airflows at once


def _server_env(home: Path, store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-" + "s" * 60,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH": str(store),
            "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
    )
    return env


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (uvicorn exits cleanly on it), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def airflow_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-e2e-home")
    # A fixed dev password: SimpleAuthManager reads this file instead of generating one.
    (home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": "admin"}))
    store_path = home / "lineage.db"
    store = SqliteLineageStore(store_path)
    seed(store, dt.datetime.now(dt.timezone.utc))
    seed_testnet_chain(store, dt.datetime.now(dt.timezone.utc))  # the explorer's depth-6 testnet chain
    seed_trends(store, "testnet", dt.datetime.now(dt.timezone.utc))  # trends, latency, recent list
    store.close()
    env = _server_env(home, store_path)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=180)

    port = free_port()
    log = (home / "api-server.log").open("w")
    proc = subprocess.Popen(
        [AIRFLOW, "api-server", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"api-server exited ({proc.returncode}):\n{(home / 'api-server.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"api-server not up after {START_TIMEOUT}s")
            time.sleep(0.5)
        yield base
    finally:
        _stop(proc)
        log.close()


@pytest.fixture
def browser():
    with Browser(width=1440, height=1000) as b:
        yield b


def _type(b: Browser, selector: str, text: str) -> None:
    b.wait_for(f"!!document.querySelector({selector!r})", what=selector)
    b.evaluate(f"document.querySelector({selector!r}).focus()")
    b.send("Input.insertText", text=text)  # real key input, so React's controlled inputs see it


def _login(b: Browser, base: str) -> None:
    b.navigate(f"{base}/")
    b.wait_for("location.pathname.startsWith('/auth/login')", what="redirect to the login page")
    _type(b, "input[name=username]", "admin")
    _type(b, "input[name=password]", "admin")
    b.wait_for("!document.querySelector('button[type=submit]').disabled", what="enabled Sign in button")
    b.evaluate("document.querySelector('button[type=submit]').click()")
    b.wait_for(
        "!location.pathname.startsWith('/auth') && document.readyState === 'complete'", what="the UI after login"
    )
    cookies = b.send("Network.getCookies", urls=[base])["cookies"]
    assert any(c["name"] == "_token" for c in cookies), cookies


def test_dashboard_and_lineage_in_a_real_browser(airflow_server, browser):
    base, b = airflow_server, browser
    _login(b, base)
    b.pump(1)
    b.errors.clear()  # Airflow's login page logs its own 401 for /ui/config before sign-in

    # 1. The nav entry: Browse → "Stellar lineage" (with its icon), which opens our page inside the
    #    UI in an iframe, authenticated by the UI session cookie.
    b.wait_for("!!document.querySelector('button[aria-label=Browse]')", what="the Browse nav button")
    b.evaluate("document.querySelector('button[aria-label=Browse]').click()")
    item = "[...document.querySelectorAll('[role=menuitem]')].find(e => e.innerText.includes('Stellar lineage'))"
    b.wait_for(f"!!{item}", what="the Stellar lineage menu entry")
    assert b.wait_for(
        f"(() => {{ const i = {item}.querySelector('img'); return i && i.complete && i.naturalWidth > 0; }})()",
        what="the menu icon",
    )
    b.screenshot(ARTIFACTS / "nav-browse-menu.png")
    b.evaluate(f"{item}.click()")
    b.wait_for("location.pathname === '/plugin/stellar-lineage'", what="the plugin route")
    frame_total = (
        "(() => { const f = document.querySelector('iframe');"
        " const d = f && f.contentDocument; const k = d && d.getElementById('k-total');"
        " return k && k.textContent; })()"
    )
    assert b.wait_for(f"{frame_total} === '13'", what="dashboard numbers inside the UI iframe", timeout=45)
    assert b.evaluate("document.querySelector('iframe').src") == f"{base}/stellar-lineage/"
    b.pump(1)
    b.screenshot(ARTIFACTS / "dashboard-in-airflow-ui.png")

    # 2. The dashboard itself: numbers, drawn charts, base_url-correct DAG links.
    b.navigate(f"{base}/stellar-lineage/?network=public")
    b.wait_for("document.getElementById('k-total').textContent === '13'", what="dashboard numbers")
    tiles = b.evaluate(
        "['k-complete','k-queue','k-processing','k-stuck'].map(id => document.getElementById(id).textContent)"
    )
    assert tiles == ["6", "3", "2", "1"]
    assert b.evaluate("document.getElementById('t-stuck').classList.contains('alert')") is True
    assert b.evaluate("document.querySelectorAll('#c-hourly rect').length") == 3  # 3 completions in 24 h
    assert b.evaluate("document.querySelectorAll('#c-mix circle').length") == 4  # track + 3 sources
    assert b.evaluate("document.querySelectorAll('#c-status rect').length") == 10
    assert "Saved" in b.evaluate("document.getElementById('c-spend').textContent")
    dag_links = b.evaluate("[...document.querySelectorAll('footer.dags a')].map(a => [a.href, a.target])")
    assert dag_links == [
        [f"{base}/dags/{d}", "_top"]
        for d in ("stellar_lineage_api_pipeline", "stellar_lineage_bigquery_pipeline", "stellar_lineage_enqueue")
    ]
    assert b.evaluate("document.getElementById('error').hidden") is True
    # active pipeline now: the seed holds one API claim (stuck) and one BigQuery claim
    b.wait_for("document.querySelectorAll('#active-now .active-item').length === 2", what="active pipelines")
    active = b.evaluate("[...document.querySelectorAll('#active-now .active-item')].map(e => e.dataset.pipeline)")
    assert active == ["API", "BIGQUERY"] and "1 stuck" in b.evaluate("document.getElementById('active-now').innerText")
    assert b.evaluate("document.querySelectorAll('#queue-list li').length") == 5  # 3 PENDING + 2 PROCESSING
    assert b.evaluate("document.getElementById('queue-range').textContent") == "1–5 of 5"
    b.screenshot(ARTIFACTS / "dashboard.png")

    # 3. Search box → lineage page, then follow a creator link (relative links one level deeper).
    _type(b, "form.search input.account", K3)
    b.evaluate("document.querySelector('form.search button').click()")
    b.wait_for(
        f"location.pathname === '/stellar-lineage/lineage/{K3}' && document.querySelectorAll('li.node').length === 4",
        what="lineage page",
    )
    chain = b.evaluate("[...document.querySelectorAll('li.node a.addr')].map(a => a.textContent)")
    assert chain == [K3, K2, chain[2], ROOT]
    assert "reaches the network root" in b.evaluate("document.body.innerText")
    b.screenshot(ARTIFACTS / "lineage.png")
    b.evaluate(f"document.querySelector('a.addr[href*=\"{K2}\"]').click()")
    b.wait_for(
        f"location.pathname === '/stellar-lineage/lineage/{K2}' && document.querySelectorAll('li.node').length === 3",
        what="creator's lineage page",
    )
    assert b.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "10px"  # CSS loaded

    # 4. Dark mode follows the OS/UI preference.
    b.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    b.navigate(f"{base}/stellar-lineage/?network=public")
    b.wait_for("document.getElementById('k-total').textContent === '13'", what="dashboard numbers (dark)")
    assert b.evaluate("document.documentElement.dataset.theme") == "dark"
    b.screenshot(ARTIFACTS / "dashboard-dark.png")

    b.pump(1)
    assert b.errors == [], b.errors


def test_unauthenticated_browser_gets_401_not_the_page(airflow_server, browser):
    browser.navigate(f"{airflow_server}/stellar-lineage/api/pipeline-stats")
    assert json.loads(browser.evaluate("document.body.innerText")) == {"detail": "Not authenticated"}


def _carries_seed(request: dict) -> bool:
    text = " ".join([request.get("url", ""), request.get("postData", ""), json.dumps(request.get("headers", {}))])
    for _ in range(2):
        text = urllib.parse.unquote(text)
    return DERIVED in re.sub(r"[^A-Za-z0-9]", "", text).upper()


@pytest.mark.parametrize("inside_airflow_ui", [False, True], ids=["page", "airflow-iframe"])
def test_a_seed_typed_in_the_search_is_refused_and_never_sent(airflow_server, browser, inside_airflow_ui):
    from include.stellar_lineage.validation import SEED_MESSAGE

    base, b = airflow_server, browser
    _login(b, base)
    b.pump(1)
    b.errors.clear()  # Airflow's login page logs its own 401 for /ui/config before sign-in
    if inside_airflow_ui:  # the page inside the UI's iframe: frame-ancestors must allow it
        b.navigate(f"{base}/plugin/stellar-lineage")
        b.wait_for(
            "(() => { const f = document.querySelector('iframe'); const d = f && f.contentDocument;"
            " return d && d.querySelector('form.search input.account') && d.readyState === 'complete'; })()",
            what="the plugin page inside the Airflow UI iframe",
            timeout=45,
        )
        doc = "document.querySelector('iframe').contentDocument"
    else:
        b.navigate(f"{base}/stellar-lineage/?network=public")
        doc = "document"
    b.wait_for(f"{doc}.getElementById('k-total').textContent === '13'", what="dashboard numbers")
    start_url = b.evaluate(f"{doc}.location.href")
    mark = len(b.events_seen())
    names = ["plain", "lower case", "trailing comma", "zero-width space inside", "URL-encoded", "groups of four"]
    for name in names:
        b.evaluate(f"{doc}.querySelector('form.search input.account').value = ''")
        b.evaluate(f"{doc}.querySelector('form.search input.account').focus()")
        b.send("Input.insertText", text=shapes()[name][0])  # real typing: input events fire
        b.evaluate(f"{doc}.querySelector('form.search button').click()")
        shown = b.wait_for(
            f"(() => {{ const e = {doc}.querySelector('.search-error'); return !e.hidden && e.textContent; }})()",
            what=f"the refusal of a seed ({name})",
        )
        assert shown == SEED_MESSAGE, name
        assert b.evaluate(f"{doc}.querySelector('form.search input.account').value") == "", name  # wiped
        assert b.evaluate(f"{doc}.location.href") == start_url, name  # no navigation
    b.screenshot(ARTIFACTS / f"search-seed-refused-{'iframe' if inside_airflow_ui else 'page'}.png")

    # an invalid address gets the server's reason, also without a request
    b.evaluate(f"{doc}.querySelector('form.search input.account').focus()")
    b.send("Input.insertText", text=K3[:-1] + ("A" if K3[-1] != "A" else "B"))
    b.evaluate(f"{doc}.querySelector('form.search button').click()")
    assert "bad checksum" in b.wait_for(
        f"(() => {{ const e = {doc}.querySelector('.search-error'); return !e.hidden && e.textContent; }})()",
        what="the checksum refusal",
    )
    b.pump(1)
    sent = b.requests_sent(mark)
    assert not [r["url"] for r in sent if _carries_seed(r)]
    assert all("/lineage" not in r["url"] for r in sent), [r["url"] for r in sent]

    # a valid address, pasted with quotes and a comma, opens its page by path
    b.evaluate(f"{doc}.querySelector('form.search input.account').value = ''")
    b.evaluate(f"{doc}.querySelector('form.search input.account').focus()")
    b.send("Input.insertText", text=f' "{K3}", ')
    b.evaluate(f"{doc}.querySelector('form.search button').click()")
    b.wait_for(
        f"{doc}.location.pathname === '/stellar-lineage/lineage/{K3}' && {doc}.readyState === 'complete'"
        f" && {doc}.querySelectorAll('li.node').length === 4",
        what="the lineage page of the searched account",
    )
    assert not [r["url"] for r in b.requests_sent(mark) if _carries_seed(r)]
    b.pump(1)
    assert b.errors == [], b.errors  # no CSP violation, no script error


def _nodes(where: str = "document") -> str:
    return f"{where}.querySelectorAll('#x-graph g.x-node').length"


def _click_node(b: Browser, account: str, part: str = "circle") -> None:
    b.evaluate(
        f"document.querySelector('#x-graph g.x-node[data-account=\"{account}\"] {part}')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))"
    )


def test_lineage_graph_explorer_in_a_real_browser(airflow_server, browser):
    """Depth-6 testnet chain whose level 3 created 1,001 accounts: renders (also inside the Airflow UI
    iframe), expands a node a page at a time, pages, searches children, opens an account; light and
    dark; no console errors."""
    base, b = airflow_server, browser
    data = _explorer_accounts()
    _login(b, base)
    b.pump(1)
    b.errors.clear()

    # 1. Inside the Airflow UI: the plugin route's iframe showing the leaf's lineage graph.
    b.navigate(f"{base}/plugin/stellar-lineage")
    b.wait_for("!!document.querySelector('iframe')", what="the plugin iframe")
    b.evaluate(
        f"document.querySelector('iframe').src = '{base}/stellar-lineage/lineage/{data['leaf']}?network=testnet'"
    )
    b.wait_for(
        f"(() => {{ const d = document.querySelector('iframe').contentDocument; return d && {_nodes('d')} === 7; }})()",
        what="the graph inside the UI iframe",
        timeout=45,
    )
    b.pump(1)
    b.screenshot(ARTIFACTS / "graph-in-airflow-ui.png")

    # 2. The page itself: root → L1 … L6, the leaf highlighted, the hub's badges and hover text.
    b.navigate(f"{base}/stellar-lineage/lineage/{data['leaf']}?network=testnet")
    b.wait_for(f"{_nodes()} === 7", what="the depth-6 chain in the graph")
    assert b.evaluate("document.querySelector('#x-graph g.x-focus').dataset.account") == data["leaf"]
    hub = f"document.querySelector('#x-graph g.x-node[data-account=\"{data['hub']}\"]')"
    assert b.evaluate(f"{hub}.querySelector('text.x-badges').textContent") == "[A] #1 (1,001)"
    title = b.evaluate(f"{hub}.querySelector('title').textContent")
    assert "created: " in title and "tags: exchange" in title and "status: COMPLETE" in title
    b.screenshot(ARTIFACTS / "graph-chain.png")

    # 3. Expand the hub: one page of 50 children and a "+951 more" node; the panel lists 1–100 of 1,001.
    _click_node(b, data["hub"])
    b.wait_for(f"{_nodes()} === 7 + 49 + 1", what="the hub's first page of children")
    more = "document.querySelector('#x-graph g.x-more text.x-label')"
    assert b.evaluate(f"{more}.textContent") == "+951 more…"
    b.wait_for("document.getElementById('p-range').textContent.startsWith('1–100 of 1,001')", what="panel range")
    b.wait_for("document.querySelectorAll('#p-list li').length === 100", what="panel list")
    fan_badge = b.evaluate(
        f"document.querySelector('#x-graph g.x-node[data-account=\"{data['fan'][0]}\"] text.x-badges').textContent"
    )
    assert fan_badge == "[A] #1"
    b.screenshot(ARTIFACTS / "graph-expanded.png")

    # 4. Next page of the graph and of the panel.
    b.evaluate(f"{more}.dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}}))")
    b.wait_for(
        f"!!document.querySelector('#x-graph g.x-node[data-account=\"{data['fan'][60]}\"]')",
        what="the second page in the graph",
    )
    assert b.evaluate(f"!!document.querySelector('#x-graph g.x-node[data-account=\"{data['fan'][10]}\"]')") is False
    b.evaluate("document.getElementById('p-next').click()")
    b.wait_for("document.getElementById('p-range').textContent.startsWith('101–200 of 1,001')", what="panel page 2")

    # 5. Search the 1,001 children: the panel and the graph show the match only.
    wanted = data["fan"][777]
    _type(b, "#p-search", wanted[12:24])
    b.wait_for("document.querySelectorAll('#p-list li').length === 1", what="search result in the panel")
    assert b.evaluate("document.querySelector('#p-list li a').textContent") == wanted
    b.wait_for(f"!!document.querySelector('#x-graph g.x-node[data-account=\"{wanted}\"]')", what="match in graph")
    b.screenshot(ARTIFACTS / "graph-search.png")

    # 6. Collapse, layout switch and zoom keep working; dark mode.
    b.evaluate("document.getElementById('x-layout').click()")
    b.evaluate("document.getElementById('x-fit').click()")
    assert "translate(" in b.evaluate("document.querySelector('#x-graph > g').getAttribute('transform')")
    b.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    b.navigate(f"{base}/stellar-lineage/lineage/{data['leaf']}?network=testnet")
    b.wait_for(f"{_nodes()} === 7", what="graph (dark)")
    assert b.evaluate("document.documentElement.dataset.theme") == "dark"
    _click_node(b, data["hub"])
    b.wait_for(f"{_nodes()} === 57", what="expanded (dark)")
    b.screenshot(ARTIFACTS / "graph-dark.png")
    _click_node(b, data["hub"])
    b.wait_for(f"{_nodes()} === 4", what="collapsed again (root, L1, L2, the hub)")

    # 7. Clicking a label opens that account's page.
    b.evaluate(f"{hub}.querySelector('a').dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}}))")
    b.wait_for(f"location.pathname === '/stellar-lineage/lineage/{data['hub']}'", what="the hub's page")
    b.wait_for(f"{_nodes()} > 7", what="the hub's graph, expanded on load")
    assert "hub.testnet.example" in b.evaluate("document.getElementById('account-card').innerText")

    b.pump(1)
    assert b.errors == [], b.errors


def _legend(b: Browser) -> dict:
    return b.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#l-trend li')]"
        ".map(li => [li.children[1].textContent, li.querySelector('.n').textContent]))"
    )


def test_dashboard_trends_latency_and_recent_accounts_in_a_real_browser(airflow_server, browser):
    """testnet holds tests/support/trend_data.py's records plus the stats seed's T1 (API, 1 h ago): the
    trend chart, the latency table and the recent list render from the new routes, inside the Airflow
    UI iframe too, light and dark, with no console error."""
    base, b = airflow_server, browser
    _login(b, base)
    b.pump(1)
    b.errors.clear()
    api, bq, graph = "API (Horizon + Stellar Expert)", "BigQuery", "Creator graph"

    # 1. Inside the Airflow UI's iframe.
    b.navigate(f"{base}/plugin/stellar-lineage")
    b.wait_for("!!document.querySelector('iframe')", what="the plugin iframe")
    b.evaluate(f"document.querySelector('iframe').src = '{base}/stellar-lineage/?network=testnet'")
    b.wait_for(
        "(() => { const d = document.querySelector('iframe').contentDocument;"
        " return d && d.querySelectorAll('#c-trend rect').length > 0 && d.querySelectorAll('#recent-list li').length > 0; })()",
        what="trend chart and recent list inside the UI iframe",
        timeout=45,
    )
    b.pump(1)
    b.screenshot(ARTIFACTS / "dashboard-trends-in-airflow-ui.png")

    # 2. The page: 7-day completed per pipeline, then 30 days and the other outcomes.
    b.navigate(f"{base}/stellar-lineage/?network=testnet")
    b.wait_for("document.querySelectorAll('#c-trend rect').length > 0", what="the trend chart")
    assert _legend(b) == {api: "4", bq: "2", graph: "1"}
    assert b.evaluate("document.querySelectorAll('#c-trend text.muted').length") > 5  # axis + day labels
    b.evaluate("document.querySelector('#trend button[data-days=\"30\"]').click()")
    b.wait_for("document.getElementById('trend-hint').textContent.includes('last 30 days')", what="30-day trend")
    assert _legend(b) == {api: "4", bq: "2", graph: "2"}
    b.evaluate("document.querySelector('#trend button[data-outcome=\"invalid\"]').click()")
    assert _legend(b) == {api: "0", bq: "1", graph: "0"}
    assert b.evaluate("document.querySelectorAll('#c-trend rect').length") == 1
    b.evaluate("document.querySelector('#trend button[data-outcome=\"failed\"]').click()")
    assert _legend(b) == {api: "1", bq: "0", graph: "0"}
    b.evaluate("document.querySelector('#trend button[data-outcome=\"complete\"]').click()")

    # 3. Latency per pipeline: API 45 s, 180 s and T1 (0 s) in 24 h: mean 75 s; BigQuery 25 min; graph 2 s.
    b.wait_for("document.querySelectorAll('#latency-table tbody tr').length === 3", what="the latency table")
    rows = b.evaluate(
        "[...document.querySelectorAll('#latency-table tbody tr')]"
        ".map(tr => [tr.dataset.pipeline, ...[...tr.children].slice(1).map(td => td.textContent)])"
    )
    assert rows[0][:3] == ["API", "3", "1.3 min"] and rows[0][4:6] == ["4", "3.4 min"], rows
    assert rows[1][:3] == ["BIGQUERY", "1", "25.0 min"] and rows[2][:3] == ["GRAPH", "1", "2.0 s"], rows

    # 4. Recently finished: newest first, each a link to its lineage page.
    b.wait_for("document.querySelectorAll('#recent-list li').length === 10", what="the recent list")
    first = b.evaluate("document.querySelector('#recent-list li a.addr').textContent")
    assert first == trend_account("api-1", "testnet")
    assert b.evaluate("document.getElementById('recent-range').textContent") == "1–10"
    assert b.evaluate("document.getElementById('recent-next').disabled") is True
    b.screenshot(ARTIFACTS / "dashboard-trends.png")

    # 5. Dark mode, then follow a recent link.
    b.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    b.navigate(f"{base}/stellar-lineage/?network=testnet")
    b.wait_for("document.querySelectorAll('#recent-list li').length === 10", what="the recent list (dark)")
    b.wait_for("document.querySelectorAll('#c-trend rect').length > 0", what="the trend chart (dark)")
    assert b.evaluate("document.documentElement.dataset.theme") == "dark"
    b.screenshot(ARTIFACTS / "dashboard-trends-dark.png")
    b.evaluate("document.querySelector('#recent-list li a.addr').click()")
    b.wait_for(f"location.pathname === '/stellar-lineage/lineage/{first}'", what="the recent account's page")
    assert "network=testnet" in b.evaluate("location.search")

    b.pump(1)
    assert b.errors == [], b.errors


def _explorer_accounts() -> dict:
    """The accounts of ``seed_testnet_chain`` (same names, so the same addresses)."""
    from include.stellar_lineage.records import NETWORK_ROOTS
    from tests.support.stellar_dataset import address

    chain = [NETWORK_ROOTS["testnet"]] + [address(f"explorer-level-{i}") for i in range(1, 7)]
    return {"leaf": chain[-1], "hub": chain[3], "fan": [address(f"explorer-fan-{i:04d}") for i in range(1000)]}
