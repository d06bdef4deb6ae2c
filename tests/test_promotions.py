"""Alias policies and promotion requests on a real team store (PostgreSQL, login roles
NOSUPERUSER NOBYPASSRLS): a protected alias moves only when a maintainer approves a request,
another maintainer under the two-person rule; the gate is evaluated when the request is
opened and again at approval; the database holds a client that skips the library (it can
skip the gate, never the approval); a running `serve` follows the alias once approved; a
store that is not a team store refuses these functions with one clear error."""

from __future__ import annotations

import time

import psycopg
import pytest
from promotion_models import in_production, production, register, second_maintainer

from jupyter_mlops.errors import AccessError, GateError, MLOpsUsageError, NotFoundError

pytestmark = pytest.mark.postgres


@pytest.fixture
def m(team, mlops):
    """Model `m`, version 1 in production and version 2 registered (promotion_models.py)."""
    return in_production(team, mlops)


def test_a_contributor_requests_and_a_maintainer_approves(team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(alice):
        asked = mlops.request_promotion("m@2", "production", comment="better f1")
        assert (asked.state, asked.version, asked.requested_by, asked.gate) == (
            "open", 2, alice, None)
        assert mlops.promotion_requests("m")["id"].tolist() == [asked.id]
        assert production(mlops) == 1
    with team.acting_as(carol):
        done = mlops.approve(asked.id, comment="looks good")
        assert (done.state, done.decided_by, done.decision_comment) == ("approved", carol,
                                                                         "looks good")
        assert production(mlops) == 2
        assert mlops.promotion_requests("m").empty
        assert mlops.promotion_requests("m", state="approved")["id"].tolist()[-1] == asked.id
        history = mlops.alias_history("m", "production")
    last = history.iloc[-1]
    assert (last.from_version, last.to_version, last.actor, last.requested_by,
            last.approved_by, last.comment, last.decision_comment, last.request_id) == (
        1, 2, carol, alice, carol, "better f1", "looks good", asked.id)
    assert last.gate is None and last.gate_values is None
    with psycopg.connect(team.uri) as conn:  # written by the database's triggers
        kinds = [r[0] for r in conn.execute(
            "SELECT kind FROM registry_events WHERE request_id = %s ORDER BY id", (asked.id,))]
    assert kinds == ["requested", "approved", "alias_moved"]


def test_a_request_names_a_version_by_any_reference(team, mlops, m):
    with team.acting_as(team.users["contributor"]):
        mlops.set_alias("m", "staging", 2)  # unprotected: moves as before
        asked = mlops.request_promotion("m@staging", "production")
        assert asked.version == 2
        with pytest.raises(MLOpsUsageError, match=f"request {asked.id} already asks for m@2"):
            mlops.request_promotion("m/2", "production")
        with pytest.raises(MLOpsUsageError, match="m@1 is production already"):
            mlops.request_promotion("m@1", "production")
        with pytest.raises(MLOpsUsageError, match="'staging' of model 'm' is not protected"):
            mlops.request_promotion("m@1", "staging")
        with pytest.raises(NotFoundError, match="no version 9"):
            mlops.request_promotion("m@9", "production")
        with pytest.raises(MLOpsUsageError, match="alias 'Prod' must match"):
            mlops.request_promotion("m@2", "Prod")
        assert len(mlops.promotion_requests()) == 1


def test_the_two_person_rule(team, mlops, m):
    carol, dave = team.users["maintainer"], second_maintainer(team)
    with team.acting_as(carol):
        asked = mlops.request_promotion("m@2", "production")
        with pytest.raises(AccessError, match=f"{carol} opened promotion request {asked.id} and "
                                              "may not approve it.*second person"):
            mlops.approve(asked.id)
        assert production(mlops) == 1 and mlops.promotion_requests()["id"].tolist() == [asked.id]
    with team.acting_as(dave):
        mlops.approve(asked.id)
        mlops.set_alias_policy("m", "production", two_person=False)
        assert mlops.alias_policies("m").to_dict("records") == [{
            "model": "m", "alias": "production", "protected": True, "gate": None,
            "two_person": False, "updated_by": dave,
            "updated_at": mlops.alias_policies("m").updated_at[0]}]
    with team.acting_as(carol):  # without the rule a maintainer approves its own request
        asked = mlops.request_promotion("m@1", "production")
        mlops.approve(asked.id)
        assert production(mlops) == 1
        mlops.set_alias_policy("m", "production")
        asked = mlops.request_promotion("m@2", "production")
        withdrawn = mlops.reject(asked.id, "asked too early")  # its own: a withdrawal
        assert (withdrawn.state, withdrawn.decided_by) == ("rejected", carol)


def test_only_maintainers_decide_and_set_policies(team, mlops, m):
    alice, viewer = team.users["contributor"], team.users["viewer"]
    refused = f"refused this to {viewer} \\(role viewer\\).*promotion_requests needs contributor"
    with team.acting_as(viewer), pytest.raises(AccessError, match=refused):
        mlops.request_promotion("m@2", "production")
    with team.acting_as(alice):
        asked = mlops.request_promotion("m@2", "production")
        for call in (lambda: mlops.approve(asked.id), lambda: mlops.reject(asked.id, "no")):
            with pytest.raises(AccessError, match=f"{alice} \\(role contributor\\) may not "
                                                  ".* promotion requests: that needs the "
                                                  "maintainer role"):
                call()
        with pytest.raises(AccessError, match="role contributor.*insert on alias_policies "
                                              "needs maintainer"):
            mlops.set_alias_policy("m", "staging", protected=True)
    with team.acting_as(viewer):  # a viewer reads requests and policies
        assert mlops.promotion_requests()["id"].tolist() == [asked.id]
        policies = mlops.alias_policies()
    assert policies[["model", "alias", "protected", "two_person"]].values.tolist() == [
        ["m", "production", True, True]] and policies.updated_by.isna().all()  # the default


def test_closed_and_unknown_requests(team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(alice):
        one = mlops.request_promotion("m@2", "production")
    with team.acting_as(carol):
        mlops.reject(one.id, "not this week")
    with team.acting_as(alice):
        two = mlops.request_promotion("m@2", "production")
    with team.acting_as(carol):
        mlops.approve(two.id)
        for call, state in ((lambda: mlops.approve(one.id), "rejected"),
                            (lambda: mlops.reject(one.id, "again"), "rejected"),
                            (lambda: mlops.approve(two.id), "approved")):
            with pytest.raises(MLOpsUsageError, match=f"was {state} already \\(by {carol}\\)"):
                call()
        with pytest.raises(NotFoundError, match="no promotion request 999"):
            mlops.approve(999)
        with pytest.raises(MLOpsUsageError, match="give a comment"):
            mlops.reject(two.id, " ")
        with pytest.raises(MLOpsUsageError, match="a number from 1, got 'x'"):
            mlops.approve("x")
        requests = mlops.promotion_requests(state="all")
    assert requests.set_index("id").loc[[one.id, two.id], "state"].tolist() == [
        "rejected", "approved"]
    assert requests.set_index("id").loc[one.id, "decision_comment"] == "not this week"


def test_bad_input_is_one_clear_error_and_changes_nothing(team, mlops, m):
    from jupyter_mlops.errors import FilterSyntaxError

    with team.acting_as(team.users["maintainer"]):
        before = (mlops.alias_policies(), mlops.promotion_requests(state="all"))
        for call, error, message in [
                (lambda: mlops.set_alias_policy("m", "staging", protected="yes"),
                 MLOpsUsageError, "protected must be True or False, got 'yes'"),
                (lambda: mlops.set_alias_policy("m", "staging", two_person=None),
                 MLOpsUsageError, "two_person must be True or False"),
                (lambda: mlops.set_alias_policy("m", "staging", False, gate="metrics.f1 > 0"),
                 MLOpsUsageError, "only protected aliases take"),
                (lambda: mlops.set_alias_policy("m", "latest"), MLOpsUsageError,
                 "not be 'latest'"),
                (lambda: mlops.set_alias_policy("ghost", "production"), NotFoundError,
                 "no model named 'ghost'"),
                (lambda: mlops.set_alias_policy("m", "production", gate="metrics.f1 >"),
                 FilterSyntaxError, "expected a value"),
                (lambda: mlops.set_alias_policy("m", "production", gate=3), MLOpsUsageError,
                 "gate must be text"),
                (lambda: mlops.request_promotion("m", "production", comment=["x"]),
                 MLOpsUsageError, "comment must be text"),
                (lambda: mlops.request_promotion("dataset:d@1", "production"), MLOpsUsageError,
                 "not a model reference"),
                (lambda: mlops.approve(0), MLOpsUsageError, "a number from 1, got 0"),
                (lambda: mlops.approve(True), MLOpsUsageError, "a number from 1, got True"),
                (lambda: mlops.promotion_requests(state="closed"), MLOpsUsageError,
                 "state must be one of open, approved, rejected, all"),
                (lambda: mlops.promotion_requests("ghost"), NotFoundError, "no model named"),
                (lambda: mlops.alias_policies("a/b"), MLOpsUsageError, "may not contain /")]:
            with pytest.raises(error, match=message):
                call()
        after = (mlops.alias_policies(), mlops.promotion_requests(state="all"))
    assert all(a.equals(b) for a, b in zip(before, after, strict=True))


def test_the_gate_holds_at_request_and_again_at_approval(team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    gate = "production.version IS NULL or metrics.f1 >= production.metrics.f1"
    with team.acting_as(carol):
        with pytest.raises(Exception, match="unknown field 'staging.metrics.f1'"):
            mlops.set_alias_policy("m", "production", gate="metrics.f1 > staging.metrics.f1")
        mlops.set_alias_policy("m", "production", gate=gate)
    with team.acting_as(alice):
        asked = mlops.request_promotion("m@2", "production")
        assert asked.gate == gate
        assert asked.gate_values == {"production.version": 1, "metrics.f1": 0.9,
                                     "production.metrics.f1": 0.8}
        register(mlops, 0.5)
        with pytest.raises(GateError, match="m@3 does not pass the gate of production, so no "
                                            "request was opened: .*metrics.f1 = 0.5 is not >= "
                                            "production.metrics.f1 = 0.8"):
            mlops.request_promotion("m@3", "production")
    with team.sql(alice) as conn:  # the candidate's metric changes before the approval
        conn.execute("UPDATE latest_metrics SET value = 0.7 WHERE run_id = %s AND key = 'f1'",
                     (m.id,))
    with team.acting_as(carol):
        before = mlops.alias_history("m")
        with pytest.raises(GateError, match=f"request {asked.id} was not approved: m@2 no "
                                            "longer passes the gate of production: "
                                            ".*metrics.f1 = 0.7 is not >="):
            mlops.approve(asked.id)
        assert production(mlops) == 1 and mlops.alias_history("m").equals(before)
        assert mlops.promotion_requests()["id"].tolist() == [asked.id]  # still open
    with team.sql(alice) as conn:
        conn.execute("UPDATE latest_metrics SET value = 0.95 WHERE run_id = %s AND key = 'f1'",
                     (m.id,))
    with team.acting_as(carol):
        done = mlops.approve(asked.id)
        assert done.decision_gate_values["metrics.f1"] == 0.95
        last = mlops.alias_history("m").iloc[-1]
        assert (last.gate, last.gate_values["metrics.f1"]) == (gate, 0.95)
        mlops.set_alias_policy("m", "production", gate="metrics.f1 > 0.1")
    with team.acting_as(alice):  # a request opened under another gate is not approved
        asked = mlops.request_promotion("m@1", "production")
    with team.acting_as(carol):
        mlops.set_alias_policy("m", "production", gate=None)
        with pytest.raises(GateError, match="gate of production changed since request"):
            mlops.approve(asked.id)


def test_protected_aliases_refuse_direct_moves(team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    protected = "alias 'production' of model 'm' is protected: it moves only by an approved"
    for user in (alice, carol):
        with team.acting_as(user):
            with pytest.raises(AccessError, match=f"{protected}.*request_promotion\\('m@2'"):
                mlops.set_alias("m", "production", 2)
            with pytest.raises(AccessError, match=protected):
                mlops.promote("m", 2, "production", require="metrics.f1 > 0")
            with pytest.raises(AccessError, match=f"{protected}.*nothing removes it"):
                mlops.delete_alias("m", "production")
    with team.acting_as(alice):
        with pytest.raises(AccessError, match=protected):
            register(mlops, 0.99, alias="production")
        assert mlops.list_models("m")["version"].tolist() == [1, 2]
        mlops.promote("m", 2, "staging", require="metrics.f1 > 0.5")  # unprotected
    with team.acting_as(carol):
        mlops.set_alias_policy("m", "staging")
        mlops.set_alias_policy("m", "production", protected=False)
        mlops.set_alias("m", "production", 2)
    with team.acting_as(alice):
        with pytest.raises(AccessError, match="alias 'staging' of model 'm' is protected"):
            mlops.set_alias("m", "staging", 1)
        assert production(mlops) == 2


def test_unprotected_aliases_move_as_before_for_contributors_and_maintainers(team, mlops):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(carol):  # a model the contributor did not create
        register(mlops, 0.8)
        register(mlops, 0.9)
    with team.acting_as(alice):
        mlops.set_alias("m", "staging", 1)
        mlops.promote("m", 2, "staging", require="metrics.f1 > staging.metrics.f1")
        mlops.delete_alias("m", "staging")
    with team.acting_as(carol):
        mlops.set_alias("m", "candidate", 2)
        history = mlops.alias_history("m")
    assert history[["alias", "to_version", "actor"]].fillna(0).values.tolist() == [
        ["staging", 1, alice], ["staging", 2, alice], ["staging", 0, alice],
        ["candidate", 2, carol]]
    assert history.request_id.isna().all()


def test_a_client_that_skips_the_library_can_skip_the_gate_never_the_approval(team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(carol):
        mlops.set_alias_policy("m", "production", gate="metrics.f1 > 0.95")
    for user in (alice, carol):
        with team.sql(user) as conn:
            for statement in (
                    "INSERT INTO model_aliases (model_id, alias, version, updated_at) "
                    "VALUES ((SELECT id FROM models WHERE name = 'm'), 'production', 2, 0) "
                    "ON CONFLICT (model_id, alias) DO UPDATE SET version = 2",
                    "INSERT INTO alias_events (model_id, alias, from_version, to_version, actor, "
                    "at) VALUES ((SELECT id FROM models WHERE name = 'm'), 'production', 1, 2, "
                    "'x', 0)",
                    "UPDATE promotion_requests SET state = 'approved'",
                    "INSERT INTO promotion_requests (model_id, version, alias, state, "
                    "requested_at, decided_by) VALUES ((SELECT id FROM models WHERE name = 'm'), "
                    "2, 'production', 'approved', 0, 'x')"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
            assert conn.execute("UPDATE model_aliases SET version = 2 WHERE alias = "
                                "'production'").rowcount == 0  # not even visible to change
            assert conn.execute("DELETE FROM model_aliases WHERE alias = 'production'"
                                ).rowcount == 0
            # a request opened without the library skips the gate (f1 0.9 is not > 0.95)
            request = conn.execute(
                "INSERT INTO promotion_requests (model_id, version, alias, state, requested_at) "
                "VALUES ((SELECT id FROM models WHERE name = 'm'), 2, 'production', 'open', 0) "
                "RETURNING id").fetchone()[0]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):  # but not the approval
                conn.execute("SELECT mlops_decide(%s, true, NULL, NULL)", (request,))
    with team.acting_as(carol):
        assert production(mlops) == 1
        assert mlops.promotion_requests()["requested_by"].tolist() == [alice, carol]
    dave = second_maintainer(team)
    with team.sql(dave) as conn:  # another maintainer's approval, by raw SQL: no gate
        conn.execute("SELECT mlops_decide(%s, true, 'raw', NULL)", (request,))
    with team.acting_as(carol):
        assert production(mlops) == 2


def test_stores_that_are_not_team_stores_refuse_with_one_clear_error(backend, mlops):
    register(mlops, 0.8)
    for call in (lambda: mlops.set_alias_policy("m", "production"),
                 lambda: mlops.request_promotion("m@1", "production"),
                 lambda: mlops.approve(1), lambda: mlops.reject(1, "no")):
        with pytest.raises(MLOpsUsageError, match="need a team store .*`jupyter mlops team "
                                                  "init`.*set_alias and promote move every"):
            call()
    assert mlops.alias_policies().empty and mlops.alias_policies("m").empty
    assert mlops.promotion_requests().empty and mlops.promotion_requests("m", "all").empty
    mlops.set_alias("m", "production", 1)  # as before
    assert mlops.alias_history("m")[["requested_by", "approved_by"]].isna().all().all()


def test_serve_switches_to_a_version_only_once_its_request_is_approved(team, mlops, m):
    """`jupyter mlops serve m@production` as the service role (it reads the registry and
    writes its monitoring sample)."""
    from test_serving import request, serving

    alice, carol = team.users["contributor"], team.users["maintainer"]
    logs: list[str] = []
    with serving("m@production", logs, MLOPS_STORE_URI=team.uri_of(team.users["service"])) as url:
        assert request(url + "/health")[1]["version"] == 1
        with team.acting_as(alice):
            asked = mlops.request_promotion("m@2", "production")
        time.sleep(1)  # five polls of the alias
        assert request(url + "/health")[1]["version"] == 1
        with team.acting_as(carol):
            mlops.approve(asked.id)
        deadline = time.monotonic() + 15
        while request(url + "/health")[1]["version"] != 2:
            assert time.monotonic() < deadline, "the server did not follow the approval"
            time.sleep(0.1)
        status, body = request(url + "/invocations", b'{"inputs": [[3.0]]}')
        assert status == 200 and body["predictions"] == pytest.approx([6.0])
    assert [line for line in logs if "refused" in line or "could not" in line] == []
    with psycopg.connect(team.uri) as conn:  # its monitoring sample, written as the service
        assert conn.execute("SELECT version, rows FROM monitoring_batches").fetchall() == [(2, 1)]
