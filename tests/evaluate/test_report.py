"""The HTML report: self-contained, and its plots render in a headless Chromium."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLR

from tidal.batch import BatchLearner, EveryN
from tidal.dummy import NoChangeClassifier
from tidal.evaluate import Results, prequential, verdict
from tidal.evaluate._report import (
    _rolling_figure,
    _styles,
    _verdict_html,
    report_data,
    write_json,
    write_report,
)
from tidal.evaluate.style import PALETTES
from tidal.linear_model import LogisticRegression

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 3))
    y = (np.where(np.arange(5000) < 2500, 1, -1) * X[:, 0] > 0).astype(int)
    learners = {
        "lr": LogisticRegression(),
        "batch": BatchLearner(SkLR(), retrain=EveryN(1000), window=2000),
        "nochange": NoChangeClassifier(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prequential((X, y), learners, change_points=[2500])


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    return write_report(results, tmp_path_factory.mktemp("report") / "report.html")


def test_report_is_self_contained(report):
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text, re.I)
    assert not re.search(r"<link[^>]+href=[\"']https?:", text, re.I)
    assert "@import" not in text
    # plotly's library is embedded, not fetched
    assert len(text) > 1_000_000 and "Plotly.newPlot" in text


def test_report_holds_the_verdict_the_table_and_the_stamp(results, report):
    text = report.read_text(encoding="utf-8")
    v = verdict(results)
    assert v.headline in text
    assert results.meta["data"]["fingerprint"] in text
    assert f"tidal {results.meta['tidal_version']}" in text
    for name in ("lr", "batch", "nochange", "engine"):
        assert f"<td>{name}</td>" in text


def test_json_holds_the_same_data(results, tmp_path):
    path = write_json(results, tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["verdict"]["text"] == verdict(results).text
    assert data["analysis"]["change_points"] == [2500]
    assert {c["learner"] for c in data["costs"]} == {"lr", "batch", "nochange", "engine"}
    assert data == json.loads(json.dumps(report_data(results)))


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
)
def test_plots_render_in_headless_chromium(report):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # no network at all: anything but the file itself is refused and recorded
            fetched: list[str] = []

            def gate(route):
                if route.request.url == report.as_uri():
                    return route.continue_()
                fetched.append(route.request.url)
                return route.abort()

            page.route("**/*", gate)
            page.goto(report.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            plots = page.eval_on_selector_all(".js-plotly-plot", "els => els.length")
            traces = page.eval_on_selector_all(
                ".js-plotly-plot .main-svg path.js-line, .js-plotly-plot .main-svg g.point path",
                "els => els.filter(e => (e.getAttribute('d') || '').length > 10).length",
            )
            page.screenshot(path=str(shot), full_page=True)
            # the top section (title, stamp, verdict) is what a reader sees first
            page.screenshot(path=str(ARTIFACTS / "report-top.png"))
            fits = page.eval_on_selector_all(
                ".verdict, .verdict table",
                "els => els.every(e => e.scrollWidth <= e.clientWidth + 1)",
            )
        finally:
            browser.close()
    assert fetched == []
    assert fits, "a table is wider than its column"
    assert plots == 3
    assert traces >= 3 + 2  # three curves, and bars
    assert shot.stat().st_size > 20_000


def test_each_learner_has_its_own_line_in_its_family_colours(results):
    extra = [
        {"learner": "lr2", "family": "online"},
        {"learner": "majority", "family": "baseline"},
    ]
    res = Results(results.rows + extra, [], results.meta, results.costs, results.analysis)
    styles = _styles(res)
    looks = {(s["color"], s["dash"]) for n, s in styles.items() if n != "engine"}
    assert len(looks) == len(res.rows)  # no two learners look alike
    for r in res.rows:
        assert styles[r["learner"]]["color"] in PALETTES[r["family"]]
    fig = _rolling_figure(res, styles)
    assert {t.name: t.line.dash for t in fig.data}["nochange"] == "dot"


def test_a_diverged_learner_does_not_flatten_the_others():
    rows = [{"learner": k, "family": "online"} for k in ("a", "b", "boom")]
    rows[2]["status"] = "diverged"
    x = list(range(1, 101))
    curves = {
        "a": {"row": x, "value": [1.0 + 0.01 * i for i in x]},
        "b": {"row": x, "value": [1.5 + 0.01 * i for i in x]},
        "boom": {"row": x, "value": [10.0**i for i in range(100)]},
    }
    analysis = {"curves": curves, "metric": "MAE", "window": 100, "change_points": []}
    res = Results(rows, [], {}, analysis=analysis)
    fig = _rolling_figure(res, _styles(res))
    lo, hi = fig.layout.yaxis.range
    assert 0.9 < lo < 1.1 and 2.4 < hi < 2.7  # the two sane learners fill the plot
    assert "off the scale: boom" in fig.layout.title.text


def test_empty_states_say_no_data_yet(tmp_path):
    empty = Results([], [], {"data": {}, "learners": {}}, analysis={"curves": {}})
    text = write_report(empty, tmp_path / "e.html").read_text(encoding="utf-8")
    assert text.count("no data yet") >= 4  # three plots and the tables
    assert "Not enough data to decide." in text


def test_the_verdict_reads_as_headline_reasons_and_one_table(results):
    v = verdict(results)
    block = _verdict_html(v)
    assert block.count("<li>") == len(v.reasons) <= 3
    assert "<table class='considerations'>" in block
    for fam in {r["family"] for r in results.rows if r["family"] != "baseline"}:
        assert f"class='fam-{fam}'" in block
