"""The dashboard end to end: a real uvicorn server, auth on, driven by headless Chromium."""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from tidal.service import ServiceConfig, create_app
from tidal.service.dashboard import STATIC, Recorder, TicketSigner

from .helpers import make_stream

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROWS, LABELS = make_stream(40)
JSON_BODY = {"content-type": "application/json"}
WAIT = 15_000  # ms: a generous bound for a shared 2-core machine, never a sleep

needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
)


@contextmanager
def serve(tmp: Path, models: dict[str, str], port: int = 0, new_tokens: bool = True, **config):
    """A real uvicorn server on 127.0.0.1 in a thread; yields (url, service, tokens by role)."""
    cfg = ServiceConfig(data=tmp, models=models, auth=True, gate_min_events=10, **config)
    app = create_app(cfg)
    svc = app.state.service
    svc.recorder.resolution = 0.0  # a point per learn request, so a test can count them
    roles = ("read", "admin") if new_tokens else ()
    tokens = {role: svc.registry.tokens.create(role, f"dash-{role}") for role in roles}
    if not port:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=5
        )
    )
    app.state.uvicorn_server = server  # as tidal.service.run does: streams end at shutdown
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", svc, tokens
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("dash"), {"m": "lr"}) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _page(browser, url, token=None, go=True):
    """A fresh browser session; ``token`` is put in sessionStorage as if typed once."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # works offline: every request must go to tidal (recorded, not routed: Playwright's
    # routing would switch the HTTP cache off, and the cache is under test)
    page.offsite = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(url + "/") else page.offsite.append(r.url),
    )
    if token:
        page.add_init_script(f"sessionStorage.setItem('tidal.token', {token!r})")
    if go:
        page.goto(url + "/")
    return page


def _api(url, token):
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _learn(client, lo, hi, one_by_one=False):
    items = [{"features": r, "label": y} for r, y in zip(ROWS[lo:hi], LABELS[lo:hi])]
    for batch in [[it] for it in items] if one_by_one else [items]:
        client.post("/v1/models/m/learn", json={"items": batch}).raise_for_status()


ALL_DRAWN = """n => window.tidalRenders >= 1 && [...document.querySelectorAll('.js-plotly-plot')]
  .filter(el => el.querySelector('.scatterlayer .trace')).length === n"""
PLOTLY_ENTRY = """() => {
  const e = performance.getEntriesByType('resource').find(e => e.name.includes('/plotly.js'));
  return {transferSize: e.transferSize, encodedBodySize: e.encodedBodySize,
          decodedBodySize: e.decodedBodySize};
}"""
ONLINE_POINTS = """() => {
  const el = document.getElementById('plot-m');
  const t = el && el.data && el.data.find(t => t.name.startsWith('online'));
  return t ? t.x.length : -1;
}"""


def test_downsample_keeps_extremes_and_bounds_points():
    rec = Recorder()
    rng = np.random.default_rng(0)
    v = rng.normal(size=100_000)
    v[54_321] = 50.0
    rec.extend("a", "metric:online", np.arange(100_000.0), v)
    s = rec.snapshot(max_points=1000)["a"]["series"]["metric:online"]
    assert 900 <= len(s["v"]) <= 1000
    assert max(s["v"]) == 50.0 and min(s["v"]) == v.min()
    assert s["t"] == sorted(s["t"])


def test_recorder_keeps_the_newest_points_and_coalesces_metric_points():
    rec = Recorder(capacity=1000, resolution=1.0)
    rec.extend("a", "rate:learn", np.arange(2500.0), np.arange(2500.0))
    t = rec.snapshot(max_points=10_000)["a"]["series"]["rate:learn"]["t"]
    assert 500 <= len(t) <= 1000 and t[-1] == 2_499_000  # ms; the oldest were dropped
    for k, now in enumerate([100.0, 100.4, 100.9, 101.0]):
        rec.score("a", [1], [1 if k < 3 else 0], t=now)
    s = rec.snapshot()["a"]["series"]["metric:online"]
    assert s["t"] == [100_000, 101_000] and s["v"] == [1.0, 0.75]


def test_tickets_expire_and_cannot_be_forged():
    s = TicketSigner(ttl=-1)  # already expired
    assert s.check(s.issue("read", "x")) is None
    good = TicketSigner().issue("admin", "x")
    assert TicketSigner().check(good) is None  # another server's key


def test_stream_needs_a_ticket_and_the_page_needs_no_token(server):
    url, _, tokens = server
    assert httpx.get(url + "/v1/dashboard/stream").status_code == 401
    assert httpx.get(url + "/v1/dashboard/stream?ticket=bogus.sig").status_code == 401
    assert httpx.get(url + "/v1/dashboard/state").status_code == 401
    assert httpx.get(url + "/v1/dashboard/ticket").status_code == 401
    page = httpx.get(url + "/")
    assert page.status_code == 200 and '"/dashboard/plotly.js?v=' in page.text
    assert "cdn" not in page.text.lower()
    with _api(url, tokens["read"]) as c:
        ticket = c.get("/v1/dashboard/ticket").json()["ticket"]
        state = c.get("/v1/dashboard/state").json()
    assert state["role"] == "read" and state["registry"]["audit"] is None  # audit is admin-only
    with httpx.stream("GET", f"{url}/v1/dashboard/stream?ticket={ticket}", timeout=10) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: state"


def test_plotly_is_vendored_gzipped_and_cached_for_good(server):
    url, _, _ = server
    vendored = (STATIC / "plotly-basic.min.js").read_bytes()
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    # the README names what was vendored: the version in the file's banner and its sha256
    version = re.search(rb"plotly\.js \(basic - minified\) (v[\d.]+)", vendored[:300])
    assert version and f"plotly.js **{version.group(1).decode()[1:]}**" in readme
    assert hashlib.sha256(vendored).hexdigest() in readme
    assert (STATIC / "plotly-basic.LICENSE").read_text().startswith("MIT License")

    (link,) = re.findall(r'src="(/dashboard/plotly\.js\?v=\w+)"', httpx.get(url + "/").text)
    r = httpx.get(url + link, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.content == vendored  # httpx unzipped it: the very file, byte for byte
    wire = int(r.headers["content-length"])
    assert wire < len(vendored) / 2, f"{wire} bytes on the wire for {len(vendored)}"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = r.headers["etag"]
    assert link.endswith("?v=" + etag.strip('"'))  # the URL names the content
    assert httpx.get(url + link, headers={"If-None-Match": etag}).status_code == 304
    # under a URL that does not name this content, a cache must ask again every time
    bare = httpx.get(url + "/dashboard/plotly.js", headers={"Accept-Encoding": "identity"})
    assert bare.headers["cache-control"] == "no-cache" and "content-encoding" not in bare.headers
    assert bare.content == vendored
    stale = httpx.get(url + "/dashboard/plotly.js?v=0123456789abcdef")
    assert stale.headers["cache-control"] == "no-cache"


@needs_browser
def test_wrong_token_is_refused_in_words(server, browser):
    url, _, _ = server
    page = _page(browser, url)
    page.wait_for_selector("#login:not([hidden])", timeout=WAIT)
    assert "Enter an API token" in page.inner_text("#login-msg")
    assert page.locator(".model").count() == 0
    page.fill("#token", "tidal_nope_wrongsecret")
    page.click("#login button")
    page.wait_for_function(
        "document.getElementById('login-msg').textContent.includes('wrong, expired or revoked')",
        timeout=WAIT,
    )
    assert page.locator(".model").count() == 0
    page.context.close()


@needs_browser
def test_token_entered_once_and_learn_events_show_up_live(server, browser):
    url, _, tokens = server
    with _api(url, tokens["admin"]) as c:
        _learn(c, 0, 4)  # fits the model: later requests are scored before they are learned
        _learn(c, 4, 6)
        page = _page(browser, url)
        page.wait_for_selector("#login:not([hidden])", timeout=WAIT)
        page.fill("#token", tokens["read"])
        page.click("#login button")
        page.wait_for_selector("#plot-m .main-svg", timeout=WAIT)
        page.reload()  # kept for the browser session: no second prompt
        page.wait_for_function(f"({ONLINE_POINTS})() >= 0", timeout=WAIT)
        assert page.is_hidden("#login")
        page.wait_for_function("window.tidalRenders >= 2", timeout=WAIT)  # the stream is live
        before = page.evaluate(ONLINE_POINTS)
        _learn(c, 6, 11, one_by_one=True)  # five requests: five new points of the rolling metric
        page.wait_for_function(f"({ONLINE_POINTS})() >= {before + 5}", timeout=WAIT)
        assert page.evaluate(ONLINE_POINTS) == before + 5
        learn_rate = page.evaluate(
            "document.getElementById('plot-m').data.find(t => t.name === 'learn rows/s').y"
        )
        assert sum(learn_rate) == c.get("/v1/models/m").json()["version"]["seq"]
    assert page.errors == [] and page.offsite == []
    page.context.close()


@needs_browser
def test_charts_library_that_does_not_load_is_said_in_words(server, browser):
    url, _, tokens = server
    page = _page(browser, url, tokens["read"], go=False)
    page.route("**/dashboard/plotly.js*", lambda route: route.abort())
    page.goto(url + "/")
    page.wait_for_function("!document.getElementById('banner').hidden", timeout=WAIT)
    assert "charts library (/dashboard/plotly.js) did not load" in page.inner_text("#banner")
    assert page.locator(".js-plotly-plot").count() == 0
    page.context.close()


@needs_browser
def test_lost_connection_says_so_and_recovers(tmp_path, browser):
    with serve(tmp_path, {"m": "lr"}) as (url, _, tokens):
        page = _page(browser, url, tokens["read"])
        page.wait_for_function("window.tidalRenders >= 2", timeout=WAIT)  # stream connected
        assert page.is_hidden("#banner")
    # the server is gone: the page says so in words and keeps retrying
    page.wait_for_function(
        "document.getElementById('banner').textContent === 'connection lost — retrying'"
        " && !document.getElementById('banner').hidden",
        timeout=WAIT,
    )
    port = int(url.rsplit(":", 1)[1])
    with serve(tmp_path, {"m": "lr"}, port=port, new_tokens=False) as (_, _, _):
        renders = page.evaluate("window.tidalRenders")
        page.wait_for_function("document.getElementById('banner').hidden", timeout=WAIT)
        page.wait_for_function(f"window.tidalRenders > {renders}", timeout=WAIT)  # live again
        page.context.close()


def _register(c, metric, value, kind="online"):
    body = {"metrics": {metric: value, "n_events": 500}, "why": "test", "kind": kind}
    r = c.post("/v1/models/m/versions", json=body)
    r.raise_for_status()
    return r.json()["version"]


def _click(page, version, action, until):
    """Click a version's button once it is shown; wait until the JS condition holds."""
    button = f"#version-m-{version} button[data-action={action}]"
    page.wait_for_selector(button, timeout=WAIT)
    page.click(button)
    page.wait_for_function(until, timeout=WAIT)


def _promote(page, version, until):
    page.wait_for_selector(f"#version-m-{version}", timeout=WAIT)
    assert page.inner_text(f"#version-m-{version} .stage") == "candidate"
    _click(page, version, "promote", until)


def _cells(page, selector):
    """The text of each cell of each row matched by ``selector``, as the reader sees it."""
    return page.eval_on_selector_all(
        selector, "rows => rows.map(r => [...r.children].map(td => td.innerText))"
    )


MESSAGE_SAYS = "document.getElementById('msg-m').textContent.includes({!r})"


@needs_browser
def test_promote_needs_an_admin_token(server, browser):
    url, svc, tokens = server
    metric = svc.registry.policy.metric
    with _api(url, tokens["admin"]) as c:
        _learn(c, 0, 2)
        v = _register(c, metric, 0.999)
        page = _page(browser, url, tokens["read"])
        _promote(page, v, MESSAGE_SAYS.format("needs an admin token"))
        assert c.get(f"/v1/models/m/versions/{v}").json()["stage"] == "candidate"
        assert "needs an admin token" in page.inner_text("#audit")
    page.context.close()


@needs_browser
def test_promote_with_admin_token_changes_stage_and_audits(server, browser):
    url, svc, tokens = server
    metric = svc.registry.policy.metric
    with _api(url, tokens["admin"]) as c:
        _learn(c, 0, 2)
        good = _register(c, metric, 1.0)
        page = _page(browser, url, tokens["admin"])
        stage = f"document.querySelector('#version-m-{good} .stage').textContent"
        _promote(page, good, f"{stage} === 'production'")
        audit = c.get("/v1/audit", params={"name": "m"}).json()
        assert any(
            e["action"] == "promote" and e["version"] == good and e["actor"] == "token:dash-admin"
            for e in audit
        )
        # a challenger the gate refuses: the 409's reason is on screen, the stage unchanged
        weak = _register(c, metric, 0.5)
        _promote(page, weak, MESSAGE_SAYS.format("The gate refused"))
        assert "does not beat champion" in page.inner_text("#msg-m")
        assert c.get(f"/v1/models/m/versions/{weak}").json()["stage"] == "candidate"
        page.wait_for_selector("#audit-table", timeout=WAIT)
        assert "promote_refused" in page.inner_text("#audit-table")
    page.context.close()


def fill_ten_models(svc, n: int = 100_000) -> list[str]:
    """Ten models with 4 series of ``n`` points each, a drift mark and a guard mark; a shadow."""
    models = [f"m{i}" for i in range(10)]
    rng = np.random.default_rng(1)
    t = time.time() - n + np.arange(n, dtype=float)  # one point a second up to now
    drop = np.where(np.arange(n) < n // 2, 0.0, 0.15)  # a concept drift half way
    for name in models:
        walk = np.cumsum(rng.normal(0, 0.0003, n))
        online = np.clip(0.85 - drop * np.exp(-(np.arange(n) - n // 2).clip(0) / 5e3), 0, 1)
        svc.recorder.extend(name, "metric:online", t, online + 0.01 * rng.normal(size=n))
        svc.recorder.extend(name, "metric:batch", t, np.clip(0.8 - drop + walk, 0, 1))
        svc.recorder.extend(name, "rate:learn", t, rng.poisson(200, n))
        svc.recorder.extend(name, "rate:predict", t, rng.poisson(800, n))
        svc.recorder.mark(name, "drift", "ADWIN on a", t=t[n // 2])
        svc.recorder.mark(name, "guard", "range(a)", t=t[-10])
    shadow = np.clip(0.83 + walk, 0, 1)  # a challenger in shadow, side by side with m9's
    svc.recorder.extend("m9", "metric:shadow v2", t, shadow)
    return models


@needs_browser
def test_ten_models_of_100k_points_render_decimated_and_cached(tmp_path, browser):
    """What is drawn, not how fast: the first-render time is `benchmarks/bench_dashboard.py`'s."""
    models = {f"m{i}": "lr" for i in range(10)}
    with serve(tmp_path, models) as (url, svc, tokens):
        fill_ten_models(svc)
        # a first visit in a fresh browser context: no HTTP cache
        page = _page(browser, url, tokens["read"], go=False)
        page.goto(url + "/")
        page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
        js = page.evaluate(PLOTLY_ENTRY)
        assert js["transferSize"] > 0  # really fetched from the server, gzipped
        assert js["encodedBodySize"] < js["decodedBodySize"] / 2
        # a returning visit in the same context: plotly.js comes from the browser's cache
        page.goto(url + "/")
        page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
        assert page.evaluate(PLOTLY_ENTRY)["transferSize"] == 0
        lengths = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].flatMap("
            "el => el.data.filter(t => t.mode === 'lines').map(t => t.x.length))"
        )
        assert len(lengths) == 41 and all(500 <= k <= 1000 for k in lengths)
        names = page.evaluate("document.getElementById('plot-m9').data.map(t => t.name)")
        assert names[:3] == ["online metric", "batch metric", "shadow v2 metric"]
        assert page.locator("#plot-m3 .legendtext", has_text="drift alarm").count() == 1
        assert "ADWIN on a" in page.inner_text("#features-m3 .alarms li")
        assert page.locator(".guards td", has_text="range(a)").count() == 10
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=False)
        assert page.errors == [] and page.offsite == []
        page.context.close()
    assert shot.stat().st_size > 20_000


ROW_READS = """([selector, start]) => {
  const row = document.querySelector(selector);
  return !!row && [...row.children].map(td => td.innerText).join('|').startsWith(start);
}"""
ALARM_SHOWN = """() => {
  const alarms = document.querySelector('#features-g .alarms');
  const chart = document.getElementById('plot-g');
  const trace = chart && chart.data && chart.data.find(t => t.name === 'drift alarm');
  return alarms && alarms.innerText.includes('feature drift: a')
    && trace && trace.text.some(t => t.startsWith('feature drift: a'));
}"""
SCHEMA = {
    "columns": {
        k: {"type": "numeric", "min": -10.0, "max": 10.0, "center": 0.0, "scale": 1.0}
        for k in ("a", "b", "c")
    },
    "target": {"name": "y", "type": "classes", "classes": [0, 1]},
}


@needs_browser
def test_guard_rejections_feature_drift_and_alarms_show_on_the_page(tmp_path, browser):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    guards = {"guards": {"g": str(schema)}, "drift_reference": 200, "drift_window": 200}
    with serve(tmp_path / "data", {"g": "lr"}, **guards) as (url, _, tokens):
        page = _page(browser, url, tokens["read"])
        page.wait_for_function("window.tidalRenders >= 2", timeout=WAIT)  # the stream is live
        assert "waiting for a full reference window" in page.inner_text("#features-g")
        assert page.locator("#guards-g tr[data-rule]").count() == 0
        # 200 rows like the reference, then 250 with feature a shifted by 3 sd; five bad rows
        rng = np.random.default_rng(3)
        X = rng.normal(size=(450, 3))
        X[200:, 0] += 3.0
        rows = [{"a": float(u), "b": float(v), "c": float(w)} for u, v, w in X]
        labels = [int(u - 0.5 * v > 0) for u, v, _ in X]
        for i in (210, 260, 265):  # requests 5 and 6 (50 rows each)
            rows[i]["a"] = 50.0 + i
        for i in (300, 410):  # requests 7 and 9
            rows[i]["b"] = math.nan
        with _api(url, tokens["admin"]) as c:
            for lo in range(0, 450, 50):
                batch = zip(rows[lo : lo + 50], labels[lo : lo + 50])
                items = [{"features": r, "label": y} for r, y in batch]
                body = json.dumps({"items": items})  # json.dumps writes NaN, the server reads it
                r = c.post("/v1/models/g/learn", content=body, headers=JSON_BODY)
                r.raise_for_status()
            report = c.get("/v1/models/g/drift").json()
        psi = {r["feature"]: r["score"] for r in report["features"] if r["test"] == "psi"}
        assert report["ready"] and psi["a"] > 1.0  # the shift is there, as the API says

        # rejections per rule: rows quarantined (exact, per row) and the learn requests hit
        missing = ["#guards-g tr[data-rule=missing]", "missing|2|2"]
        page.wait_for_function(ROW_READS, arg=missing, timeout=WAIT)
        by_rule = {r[0]: r[1:] for r in _cells(page, "#guards-g tr[data-rule]")}
        assert by_rule["out_of_range"] == ["3", "2"] and by_rule["missing"] == ["2", "2"]
        latest = _cells(page, "#guards-g table.quarantined tr:not(:first-child)")
        assert [r[1] for r in latest] == ["missing"] * 2 + ["out_of_range"] * 3  # newest first
        assert '"a":315' in latest[2][3] and "outside" in latest[2][2]  # row 265, newest first
        assert '"b":' in latest[0][3] and "missing" in latest[0][2]

        # per-feature drift scores: the API's PSI to three decimals, drifted or not
        for feature in ("a", "b"):  # the page shows the final window's scores, not an earlier one
            row = f"#features-g tr[data-feature={feature}]"
            page.wait_for_function(
                ROW_READS, arg=[row, f"{feature}|{psi[feature]:.3f}|"], timeout=WAIT
            )
        features = {r[0]: r for r in _cells(page, "#features-g tr[data-feature]")}
        assert set(features) == {"a", "b", "c"}
        assert features["a"][1] == f"{psi['a']:.3f}" and features["a"][3] == "yes"
        assert features["b"][1] == f"{psi['b']:.3f}" and features["b"][3] == "no"

        # the drift alarm: marked on the chart's timeline and listed in words
        page.wait_for_function(ALARM_SHOWN, timeout=WAIT)
        alarm = page.evaluate(
            "document.getElementById('plot-g').data.find(t => t.name === 'drift alarm')"
        )
        assert any(t.startswith("feature drift: a (") for t in alarm["text"])
        assert page.locator("#plot-g .legendtext", has_text="drift alarm").count() == 1
        assert page.locator("#plot-g .scatterlayer .trace .points path").count() >= len(
            alarm["text"]
        )
        assert page.locator("#plot-g .shapelayer path").count() == len(alarm["text"])
        assert page.errors == [] and page.offsite == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#model-g").screenshot(path=str(ARTIFACTS / "dashboard-guards.png"))
        page.context.close()


@needs_browser
def test_approve_and_rollback_need_an_admin_token(tmp_path, browser):
    with serve(tmp_path, {"m": "lr"}) as (url, svc, tokens):
        metric = svc.registry.policy.metric
        with _api(url, tokens["admin"]) as c:
            _learn(c, 0, 4)
            v1 = _register(c, metric, 0.9, kind="batch")  # a batch model needs an approval
            reader = _page(browser, url, tokens["read"])
            admin = _page(browser, url, tokens["admin"])

            _click(reader, v1, "approve", MESSAGE_SAYS.format("Refused: approve needs an admin"))
            assert "Refused: approve needs an admin token (403" in reader.inner_text("#msg-m")
            assert c.get(f"/v1/models/m/versions/{v1}").json()["approved_by"] is None
            approved_by = f"#version-m-{v1} td:nth-child(5)"
            _click(
                admin,
                v1,
                "approve",
                f"document.querySelector('{approved_by}')?.textContent === 'token:dash-admin'",
            )
            assert f"approve version {v1}: done" in admin.inner_text("#msg-m")
            assert admin.locator(f"#version-m-{v1} button[data-action=approve]").count() == 0
            admin.wait_for_function(
                "document.getElementById('audit-table').innerText.includes('approve')",
                timeout=WAIT,
            )
            audit = _cells(admin, "#audit-table tr:not(:first-child)")
            assert ["token:dash-admin", "approve", "m", str(v1)] in [r[1:5] for r in audit]

            # v1 to production, then v2 over it: v1 is archived and can be rolled back to
            good = {"challenger_metric": 0.9, "n_events": 50, "why": "test"}
            c.post(f"/v1/models/m/versions/{v1}/promote", json=good).raise_for_status()
            v2 = _register(c, metric, 0.99)
            better = good | {"challenger_metric": 0.99, "champion_metric": 0.5}
            c.post(f"/v1/models/m/versions/{v2}/promote", json=better).raise_for_status()

            _click(reader, v1, "rollback", MESSAGE_SAYS.format("Refused: rollback needs an admin"))
            assert "Refused: rollback needs an admin token (403" in reader.inner_text("#msg-m")
            assert c.get(f"/v1/models/m/versions/{v1}").json()["stage"] == "archived"
            stage = "document.querySelector('#version-m-{} .stage')?.textContent"
            _click(admin, v1, "rollback", f"{stage.format(v1)} === 'production'")
            assert f"rollback version {v1}: done, stage is now production" in admin.inner_text(
                "#msg-m"
            )
            assert admin.inner_text(f"#version-m-{v2} .stage") == "archived"
            assert c.get("/v1/models/m").json()["version"]["registry_version"] == str(v1)
            admin.wait_for_function(
                "document.getElementById('audit-table').innerText.includes('rollback')",
                timeout=WAIT,
            )
            audit = _cells(admin, "#audit-table tr:not(:first-child)")
            assert ["token:dash-admin", "rollback", "m", str(v1), "production"] in [
                r[1:6] for r in audit
            ]
            # the reader's page follows: the stage changed there too, live
            reader.wait_for_function(f"{stage.format(v1)} === 'production'", timeout=WAIT)
        # the browser logs each refused request (two 403s); nothing else went wrong
        refused = "Failed to load resource: the server responded with a status of 403 (Forbidden)"
        assert reader.errors == [refused] * 2 and admin.errors == []
        for page in (reader, admin):
            assert page.offsite == []
            page.context.close()
