"""The dashboard end to end: a real uvicorn server, auth on, driven by headless Chromium."""

from __future__ import annotations

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
from tidal.service.dashboard import Recorder, TicketSigner

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
WAIT = 15_000  # ms: a generous bound for a shared 2-core machine, never a sleep

needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
)


@contextmanager
def serve(tmp: Path, models: dict[str, str], port: int = 0, new_tokens: bool = True):
    """A real uvicorn server on 127.0.0.1 in a thread; yields (url, service, tokens by role)."""
    cfg = ServiceConfig(data=tmp, models=models, auth=True, gate_min_events=10)
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


def _page(browser, url, token=None):
    """A fresh browser session; ``token`` is put in sessionStorage as if typed once."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.offsite = []  # works offline: anything not served by tidal is refused and recorded

    def gate(route):
        if route.request.url.startswith(url + "/"):
            return route.continue_()
        page.offsite.append(route.request.url)
        return route.abort()

    page.route("**/*", gate)
    if token:
        page.add_init_script(f"sessionStorage.setItem('tidal.token', {token!r})")
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
    assert page.status_code == 200 and "/dashboard/plotly.js" in page.text
    assert "cdn" not in page.text.lower()
    js = httpx.get(url + "/dashboard/plotly.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    with _api(url, tokens["read"]) as c:
        ticket = c.get("/v1/dashboard/ticket").json()["ticket"]
        state = c.get("/v1/dashboard/state").json()
    assert state["role"] == "read" and state["registry"]["audit"] is None  # audit is admin-only
    with httpx.stream("GET", f"{url}/v1/dashboard/stream?ticket={ticket}", timeout=10) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: state"


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


def _register(c, metric, value):
    body = {"metrics": {metric: value, "n_events": 500}, "why": "test"}
    r = c.post("/v1/models/m/versions", json=body)
    r.raise_for_status()
    return r.json()["version"]


def _promote(page, version, until):
    """Click version's Promote button once it is shown; wait until the JS condition holds."""
    button = f"#version-m-{version} button[data-action=promote]"
    page.wait_for_selector(button, timeout=WAIT)
    assert page.inner_text(f"#version-m-{version} .stage") == "candidate"
    page.click(button)
    page.wait_for_function(until, timeout=WAIT)


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


@needs_browser
def test_ten_models_of_100k_points_render_fast(tmp_path, browser):
    n, models = 100_000, {f"m{i}": "lr" for i in range(10)}
    with serve(tmp_path, models) as (url, svc, tokens):
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
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.add_init_script(f"sessionStorage.setItem('tidal.token', {tokens['read']!r})")
        times = []
        # a first visit (plotly.js not cached yet), then returning visits: the best of two, as
        # timeit does, so a neighbour's burst on the shared cores does not decide the test
        for _ in range(3):
            t0 = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
            times.append(time.perf_counter() - t0)
        cold, warm = times[0], min(times[1:])
        data_to_chart = page.evaluate(
            "performance.getEntriesByName('tidal-first-render')[0].startTime"
            " - performance.getEntriesByName('tidal-state')[0].startTime"
        )
        print(
            f"\nfirst render, 10 models x 4 series x {n:,} points: {warm:.3f} s "
            f"(first visit, plotly.js not yet cached: {cold:.3f} s; "
            f"state received to charts drawn: {data_to_chart / 1000:.3f} s)"
        )
        lengths = page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].flatMap("
            "el => el.data.filter(t => t.mode === 'lines').map(t => t.x.length))"
        )
        assert len(lengths) == 41 and all(500 <= k <= 1000 for k in lengths)
        names = page.evaluate("document.getElementById('plot-m9').data.map(t => t.name)")
        assert names[:3] == ["online metric", "batch metric", "shadow v2 metric"]
        assert page.locator("text=drift alarm").count() >= 1
        assert page.locator(".guards td", has_text="range(a)").count() == 10
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=False)
        ctx.close()
    assert shot.stat().st_size > 20_000
    assert warm < 2.0, f"first render took {warm:.2f} s"
