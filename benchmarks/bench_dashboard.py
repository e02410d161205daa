"""First render of the live dashboard: 10 models x 4 series x 100k points, headless Chromium.

The figure that used to be a timed test (`test_ten_models_of_100k_points_render_fast`): a timed
test fails on a loaded machine, so the time is printed here, with the load average, instead.
What is drawn is checked by `tests/service/test_dashboard.py`.

    python benchmarks/bench_dashboard.py [--visits 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' helpers

from tests.service.test_dashboard import (  # noqa: E402
    ALL_DRAWN,
    ARGS,
    CHROMIUM,
    WAIT,
    _page,
    fill_ten_models,
    serve,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=5, help="uncached first visits")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        models = {f"m{i}": "lr" for i in range(10)}
        with serve(Path(tmp), models) as (url, svc, tokens):
            fill_ten_models(svc)
            uncached = []
            # each visit in a fresh context: no HTTP cache, no compiled-code cache
            for _ in range(args.visits):
                page = _page(browser, url, tokens["read"], go=False)
                t0 = time.perf_counter()
                page.goto(url + "/")
                page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
                uncached.append(time.perf_counter() - t0)
                page.context.close()
            page = _page(browser, url, tokens["read"])
            page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
            t0 = time.perf_counter()
            page.goto(url + "/")
            page.wait_for_function(ALL_DRAWN, arg=len(models), timeout=WAIT)
            warm = time.perf_counter() - t0
        browser.close()
    median = sorted(uncached)[len(uncached) // 2]
    print(
        f"first render, 10 models x 4 series x 100,000 points: uncached median {median:.3f} s "
        f"({', '.join(f'{t:.3f}' for t in uncached)}), returning visit {warm:.3f} s "
        f"[goal: median < 2 s]  load {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
