"""schemathesis against the service's own OpenAPI spec, in process (ASGI, no network).

Two passes over every operation: with an admin token (positive and negative generation, each
with a random model name and with the served models' names, so requests reach the models and
the registry and not only the 404 path), then without a token (every protected route must
refuse). No 5xx anywhere; 2xx/4xx bodies must match the documented schema. Deterministic:
``derandomize=True`` and no example database, so CI sees the same requests each run.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from tidal.service import ServiceConfig, create_app  # noqa: E402
from tidal.service.auth import required_role  # noqa: E402
from tidal.service.runtime import Service  # noqa: E402

from .helpers import make_stream  # noqa: E402

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = 30  # per operation, mode and path variant
MIN_REQUESTS = 2_000


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    cfg = ServiceConfig(
        data=tmp_path_factory.mktemp("fuzz"),
        models={"m": "lr", "r": "linreg"},
        shadows={"m": {"challenger": "pa"}},
        auth=True,
        gate_min_events=5,
        max_rows=50,
        max_body_bytes=64 << 10,
    )
    svc = Service(cfg)
    token = svc.registry.tokens.bootstrap_admin()
    assert token is not None
    app = _without_lifespan(create_app(service=svc))
    auth = {"Authorization": f"Bearer {token}"}
    c = TestClient(app)  # give the fuzzer fitted models and registered versions to hit
    rows, labels = make_stream(20)
    items = [{"features": x, "label": y} for x, y in zip(rows, labels)]
    for name in ("m", "r"):
        c.post(f"/v1/models/{name}/learn", json={"items": items}, headers=auth).raise_for_status()
        for _ in range(2):
            c.post(f"/v1/models/{name}/versions", json={}, headers=auth).raise_for_status()
        c.post(f"/v1/models/{name}/versions/2/shadow", json={}, headers=auth).raise_for_status()
    yield schemathesis.openapi.from_asgi("/openapi.json", app), auth
    svc.close()


def _without_lifespan(app: Any) -> Any:
    """The app without its lifespan: the fixture owns the service, and a client that ends a
    lifespan (schemathesis keeps its own) must not close it between the two passes."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[-1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return

    return wrapped


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _run(op: Any, strategy: Any, n: int, call: Any) -> tuple[int, str | None]:
    """Run ``call(case)`` on up to ``n`` generated cases; (requests made, first failure)."""
    count = 0

    @_settings(n)
    @given(case=strategy)
    def check(case: Any) -> None:
        nonlocal count
        count += 1
        call(case)

    try:
        check()
    except BaseException as e:  # schemathesis raises an ExceptionGroup of failures
        if isinstance(e, KeyboardInterrupt):
            raise
        return count, f"{op.label}: {type(e).__name__}: {str(e)[:1500]}"
    return count, None


def test_no_server_error_with_an_admin_token(served: Any) -> None:
    schema, auth = served
    t0 = time.perf_counter()
    total, failures, statuses = 0, [], collections.Counter()

    def call(case: Any) -> None:
        response = case.call(headers=auth)
        statuses[response.status_code // 100] += 1
        case.validate_response(response, checks=CHECKS, headers=auth)

    for op in _operations(schema):
        has_name = any(p.name == "name" for p in op.path_parameters)
        variants = [{}, {"name": "m"}, {"name": "r"}] if has_name else [{}]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed in variants:
                try:
                    strategy = op.as_strategy(mode, path_parameters=fixed or None)
                except Exception:  # noqa: BLE001 - no negative cases for this operation
                    continue
                n, failure = _run(op, strategy, EXAMPLES, call)
                total += n
                if failure:
                    failures.append(f"[{mode.value} {fixed}] {failure}")
    seconds = time.perf_counter() - t0
    print(f"schemathesis (admin): {total} requests in {seconds:.1f} s, by class {dict(statuses)}")
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_REQUESTS, f"only {total} generated requests"
    assert statuses[2] > 100 and statuses[4] > 100, f"fuzzing missed the models: {statuses}"


def test_protected_routes_refuse_without_a_token(served: Any) -> None:
    schema, _ = served
    seen: collections.Counter = collections.Counter()
    failures = []
    total = 0
    for op in _operations(schema):
        need = required_role(op.method, op.path)

        def call(case: Any, need: str | None = need, op: Any = op) -> None:
            response = case.call()
            seen[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])
            if need is not None:
                # 429: the fuzzer's made-up tokens count as failed attempts from its address
                assert response.status_code in (401, 404, 405, 413, 429), (
                    f"{op.label} answered {response.status_code} without a token"
                )
                if response.status_code == 401:
                    assert response.headers.get("www-authenticate") == ["Bearer"]
                if response.status_code == 429:
                    assert response.headers.get("retry-after")

        n, failure = _run(
            op,
            op.as_strategy(path_parameters={"name": "m"} if "{name}" in op.path else None),
            20,
            call,
        )
        total += n
        if failure:
            failures.append(failure)
    assert not failures, "\n\n".join(failures)
    assert seen[401] > 100, f"no 401s: {seen}"
    assert total > 200


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [  # each was a 500 before: found by fuzzing and by hand around what the fuzzer found
        ("/v1/models/r/learn", '{"features": {"a": 1%s}, "label": 1}' % ("0" * 400), "a"),
        ("/v1/models/r/learn", '{"features": {"a": 1}, "label": 1%s}' % ("0" * 400), "label"),
        ("/v1/models/r/predict", '{"row": {"a": 1%s}}' % ("0" * 400), "a"),
        ("/v1/models/m/learn", '{"features": {"a": 1}, "label": "\\ud800"}', "label"),
        ("/v1/models/m/predict", '{"row": {"a": 1, "\\udfff": 2}}', "row"),
        ("/v1/models/m/learn", '{"features": {"a": "x\\ud800"}, "label": 0}', "a"),
    ],
)
def test_unrepresentable_values_are_422_naming_the_field(tmp_path, path, body, loc) -> None:
    app = create_app(ServiceConfig(data=tmp_path, models={"m": "lr", "r": "linreg"}))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert loc in r.json()["detail"][0]["loc"]
        # the model learned nothing: its log is still empty
        assert all(h.applied_seq == 0 for h in app.state.service.hosts.values())
