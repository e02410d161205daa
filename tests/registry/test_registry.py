from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from tidal.base import StateError
from tidal.dummy import RunningMeanRegressor
from tidal.linear_model import LinearRegression
from tidal.registry import (
    HEAD,
    Evidence,
    GatePolicy,
    PromotionRefused,
    Registry,
    RegistryError,
    StageError,
    VersionNotFound,
    current_revision,
    migrate,
)
from tidal.registry._db import make_engine

GOOD = Evidence(0.9, 0.5, 500)  # beats any champion under the default policy


class Clock:
    """Strictly increasing timestamps, so 'previous production' never ties."""

    def __init__(self):
        self.t = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self):
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def reg(registry_url):
    r = Registry(registry_url, clock=Clock(), policy=GatePolicy(min_events=100))
    yield r
    r.close()


def _model(seed: int) -> LinearRegression:
    rng = np.random.default_rng(seed)
    m = LinearRegression()
    X = rng.normal(size=(20, 2))
    m.learn_many([{"a": a, "b": b} for a, b in X], list(X @ [1.0, -2.0] + seed))
    return m


def test_register_stores_state_bit_for_bit_and_metadata(reg):
    m = _model(1)
    v = reg.register(
        "price",
        m,
        by="ann",
        why="nightly",
        kind="hybrid",
        data_range={"from": "2026-01-01", "to": "2026-01-31"},
        metrics={"mae": 0.3},
    )
    got = (v.name, v.version, v.stage, v.kind, v.created_by)
    assert got == ("price", 1, "candidate", "hybrid", "ann")
    assert v.data_range == {"from": "2026-01-01", "to": "2026-01-31"}
    assert v.metrics == {"mae": 0.3} and v.created_at.tzinfo is not None
    assert v.params == m.state_dict()["params"]
    got = reg.state("price", 1)["state"]
    for k, arr in m.state_dict()["state"].items():
        if isinstance(arr, np.ndarray):
            np.testing.assert_array_equal(got[k], arr)
    row = {"a": 0.3, "b": -1.0}
    assert reg.load("price", 1).predict_one(row) == m.predict_one(row)
    v2 = reg.register("price", _model(2).state_dict(), by="bob", parent_version=1)
    assert (v2.version, v2.parent_version) == (2, 1)
    assert [x.version for x in reg.versions("price")] == [1, 2]
    assert reg.names() == ["price"] and reg.versions("other") == []


def test_bad_inputs_are_refused_with_clear_messages(reg):
    with pytest.raises(RegistryError, match="kind == 'nightly'"):
        reg.register("m", RunningMeanRegressor(), by="x", kind="nightly")
    with pytest.raises(RegistryError, match="expected a tidal learner"):
        reg.register("m", {"w": 1}, by="x")
    with pytest.raises(VersionNotFound, match="no versions at all"):
        reg.get("m", 1)
    reg.register("m", RunningMeanRegressor(), by="x")
    with pytest.raises(VersionNotFound, match=r"known versions: \[1\]"):
        reg.register("m", RunningMeanRegressor(), by="x", parent_version=7)
    assert [v.version for v in reg.versions("m")] == [1]


def test_stage_transitions(reg):
    for _ in range(3):
        reg.register("m", RunningMeanRegressor(), by="x")
    assert reg.shadow("m", 1, by="x").stage == "shadow"
    assert reg.set_stage("m", 1, "candidate", by="x").stage == "candidate"
    reg.set_stage("m", 2, "archived", by="x")
    with pytest.raises(StageError, match="use rollback"):
        reg.promote("m", 2, by="x", evidence=GOOD)
    with pytest.raises(StageError, match="use promote"):
        reg.set_stage("m", 3, "production", by="x")
    with pytest.raises(StageError, match="must be one of"):
        reg.set_stage("m", 3, "live", by="x")
    reg.promote("m", 3, by="x", evidence=GOOD)
    with pytest.raises(StageError, match="can move to \\['archived'\\]"):
        reg.set_stage("m", 3, "shadow", by="x")


def test_promotion_gate_refuses_then_accepts_and_archives_the_champion(reg):
    reg.register("m", RunningMeanRegressor(), by="x")
    reg.register("m", RunningMeanRegressor(), by="x")
    reg.promote("m", 1, by="x", why="first", evidence=Evidence(0.7, None, 100))
    policy = GatePolicy(metric="accuracy", margin=0.05, min_events=100)
    with pytest.raises(PromotionRefused, match="does not beat") as e:
        reg.promote("m", 2, by="y", why="try", evidence=Evidence(0.74, 0.7, 200), policy=policy)
    assert "0.75" in e.value.reason
    assert reg.production("m").version == 1 and reg.get("m", 2).stage == "candidate"
    with pytest.raises(PromotionRefused, match="no evidence"):
        reg.promote("m", 2, by="y")
    v = reg.promote("m", 2, by="y", why="better", evidence=Evidence(0.76, 0.7, 200), policy=policy)
    assert v.stage == "production" and reg.get("m", 1).stage == "archived"
    log = reg.audit("m")
    refused = [e for e in log if e.action == "promote_refused"]
    assert len(refused) == 2 and "does not beat" in refused[0].details["gate"]
    last = log[-1]
    assert (last.action, last.actor, last.version, last.reason) == ("promote", "y", 2, "better")
    assert last.from_stage == "candidate" and last.details["champion"] == 1


def test_non_finite_evidence_is_refused_and_audited(reg):
    reg.register("m", RunningMeanRegressor(), by="x")
    with pytest.raises(PromotionRefused, match="not a number"):
        reg.promote("m", 1, by="x", evidence=Evidence(float("nan"), 0.5, 500))
    assert reg.audit("m")[-1].details["evidence"]["challenger"] == "nan"


def test_batch_models_need_a_human_approval(reg):
    reg.register("b", RunningMeanRegressor(), by="x", kind="batch")
    with pytest.raises(PromotionRefused, match="needs a human approval"):
        reg.promote("b", 1, by="x", evidence=GOOD)
    with pytest.raises(RegistryError, match="needs a reason"):
        reg.approve("b", 1, by="carol", why=" ")
    v = reg.approve("b", 1, by="carol", why="reviewed the backtest")
    assert (v.approved_by, v.approval_reason) == ("carol", "reviewed the backtest")
    assert reg.promote("b", 1, by="x", evidence=GOOD).stage == "production"
    # online models do not need one by default
    reg.register("o", RunningMeanRegressor(), by="x", kind="online")
    assert reg.promote("o", 1, by="x", evidence=GOOD).stage == "production"


def test_rollback_to_previous_and_to_any_version(reg):
    for _ in range(3):
        reg.register("m", RunningMeanRegressor(), by="x")
    with pytest.raises(StageError, match="no earlier production"):
        reg.rollback("m", by="x")
    for v in (1, 2, 3):
        reg.promote("m", v, by="x", evidence=GOOD)
    back = reg.rollback("m", by="oncall", why="v3 is bad")
    assert back.version == 2 and reg.get("m", 3).stage == "archived"
    assert reg.rollback("m", to_version=1, by="oncall").version == 1
    assert [v.stage for v in reg.versions("m")] == ["production", "archived", "archived"]
    with pytest.raises(StageError, match="already in production"):
        reg.rollback("m", to_version=1, by="x")
    e = [a for a in reg.audit("m") if a.action == "rollback"][0]
    got = (e.actor, e.reason, e.version, e.details["from_version"])
    assert got == ("oncall", "v3 is bad", 2, 3)
    with pytest.raises(VersionNotFound):
        reg.rollback("nope", by="x")


def test_rollback_to_a_version_that_never_passed_the_gate_needs_force_and_a_reason(reg):
    for _ in range(3):
        reg.register("m", RunningMeanRegressor(), by="x")
    reg.promote("m", 1, by="x", evidence=GOOD)
    reg.promote("m", 3, by="x", evidence=GOOD)
    for kw in ({}, {"force": True}, {"why": "hotfix"}, {"force": True, "why": "  "}):
        with pytest.raises(StageError, match="never passed the promotion gate"):
            reg.rollback("m", to_version=2, by="oncall", **kw)
    assert reg.production("m").version == 3
    back = reg.rollback("m", to_version=2, by="oncall", why="v3 corrupts scores", force=True)
    assert back.stage == "production"
    e = [a for a in reg.audit("m") if a.action == "rollback"][-1]
    assert (e.actor, e.reason, e.details["forced"]) == ("oncall", "v3 corrupts scores", True)
    assert reg.rollback("m", to_version=1, by="oncall").version == 1  # passed: no force


def test_audit_log_is_append_only(reg):
    reg.register("m", RunningMeanRegressor(), by="x")
    for stmt in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with reg.engine.begin() as c:
                c.execute(sa.text(stmt))
    assert [e.actor for e in reg.audit()] == ["x"]


def test_tampered_state_is_detected(reg):
    reg.register("m", RunningMeanRegressor(), by="x")
    with reg.engine.begin() as c:
        c.execute(sa.text("UPDATE model_versions SET state_sha256 = :h"), {"h": "0" * 64})
    with pytest.raises(StateError, match="does not match its SHA-256"):
        reg.load("m", 1)


def test_an_older_schema_is_upgraded_on_open(registry_url):
    engine = make_engine(registry_url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    from tidal.registry.store import _state_bytes

    data = _state_bytes(RunningMeanRegressor().state_dict())
    import hashlib

    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO model_versions (name, version, kind, stage, params, metrics,"
                " created_at, created_by, state, state_sha256) VALUES ('old', 1, 'batch',"
                " 'candidate', '{}', '{}', :t, 'legacy', :s, :h)"
            ),
            {"t": datetime(2025, 1, 1), "s": data, "h": hashlib.sha256(data).hexdigest()},
        )
    cols = {c["name"] for c in sa.inspect(engine).get_columns("model_versions")}
    assert "approved_by" not in cols
    engine.dispose()
    reg = Registry(registry_url)
    try:
        assert current_revision(reg.engine) == HEAD
        v = reg.get("old", 1)
        assert (v.created_by, v.approved_by) == ("legacy", None)
        reg.approve("old", 1, by="ann", why="migrated")
        assert reg.promote("old", 1, by="ann", evidence=GOOD).stage == "production"
        assert reg.tokens.verify(reg.tokens.create("read", "r")).role == "read"
    finally:
        reg.close()


def test_tokens_roles_rotation_and_revocation(reg):
    store = reg.tokens
    admin = store.bootstrap_admin()
    assert admin and store.bootstrap_admin() is None
    assert store.verify(admin).role == "admin"
    t = store.create("predict", "app")
    assert store.verify(t).role == "predict"
    assert store.verify(t[:-1] + ("A" if t[-1] != "A" else "B")) is None
    assert store.verify("garbage") is None
    with pytest.raises(RegistryError, match="exists"):
        store.create("read", "app")
    with pytest.raises(RegistryError, match="role == 'root'"):
        store.create("root", "x")
    new = store.rotate("app", by="ann")
    assert store.verify(t) is None and store.verify(new).name == "app"
    store.revoke("app", by="ann", why="leaked")
    assert store.verify(new) is None
    with pytest.raises(RegistryError, match="revoked"):
        store.rotate("app")
    listed = {i.name: i for i in store.list()}
    assert listed["app"].active is False and listed["admin"].active
    # only hashes are stored: the plaintext secret appears nowhere in the table
    with reg.engine.connect() as c:
        rows = [tuple(r) for r in c.execute(sa.text("SELECT * FROM api_tokens"))]
    assert all(new.split("_", 2)[2].encode() not in bytes(r[4]) for r in rows)
    assert all(new not in str(r) for r in rows)
    actions = [e.action for e in reg.audit() if e.action.startswith("token")]
    assert actions == ["token_create", "token_create", "token_rotate", "token_revoke"]
