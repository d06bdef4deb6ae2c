"""Alias policies and promotion requests through `%register`, `jupyter mlops models` and REST:
adapters over `team/promotions.py` (whose behaviour test_promotions.py tests), checked for what
they pass on, how they answer bad input, and, for REST on a real team store, that the server
acts with its user's own database role."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import cli, error_line
from IPython.core.error import UsageError
from promotion_models import in_production, production, register

from jupyter_mlops.team import promotions


@pytest.fixture
def m(team, mlops):
    return in_production(team, mlops)


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


@pytest.fixture
def calls(monkeypatch):
    """The promotion API replaced by recorders: (function name, args, kwargs) per call."""
    seen: list[tuple[str, tuple, dict]] = []
    request = promotions.PromotionRequest(7, "m", 2, "production", "open", "alice", 0.0, None,
                                          None, None, None, None, None, None)
    policy = promotions.AliasPolicy("m", "staging", True, "metrics.f1 > 0.5", False, "carol",
                                    0.0)
    answers = {"request_promotion": request, "approve": request, "reject": request,
               "set_alias_policy": policy,
               "promotion_requests": pd.DataFrame({"id": [7]}),
               "alias_policies": pd.DataFrame({"alias": ["production", "staging"]})}
    for name, answer in answers.items():
        def record(*args, _name=name, _answer=answer, **kwargs):
            seen.append((_name, args, kwargs))
            return _answer
        monkeypatch.setattr(promotions, name, record)
    return seen


def test_the_magic_passes_each_subcommand_on(ip, calls, capsys):
    cell(ip, "%register request m@2 --alias production --comment 'better f1'")
    assert "request 7: m@2 to become production, opened by alice" in capsys.readouterr().out
    cell(ip, "%register approve 7 --comment ok")
    cell(ip, "%register reject 7 --comment 'not now'")
    assert cell(ip, "%register requests m --state all")["id"].tolist() == [7]
    assert cell(ip, "%register requests").shape == (1, 1)
    cell(ip, "%register policy m staging --protected --gate 'metrics.f1 > 0.5' --no-two-person")
    assert "m@staging: protected, one person may ask and approve, gate metrics.f1 > 0.5" in \
        capsys.readouterr().out
    cell(ip, "%register policy m staging --unprotected")
    assert cell(ip, "%register policy m staging")["alias"].tolist() == ["staging"]
    assert len(cell(ip, "%register policy")) == 2
    assert calls == [
        ("request_promotion", ("m@2", "production"), {"comment": "better f1"}),
        ("approve", (7,), {"comment": "ok"}),
        ("reject", (7, "not now"), {}),
        ("promotion_requests", ("m",), {"state": "all"}),
        ("promotion_requests", (None,), {"state": "open"}),
        ("set_alias_policy", ("m", "staging"), {"protected": True, "gate": "metrics.f1 > 0.5",
                                                "two_person": False}),
        ("set_alias_policy", ("m", "staging"), {"protected": False, "gate": None,
                                                "two_person": True}),
        ("alias_policies", ("m",), {}),
        ("alias_policies", (None,), {}),
    ]


@pytest.mark.parametrize("line, fragment", [
    ("%register request m@2", "the following arguments are required: --alias"),
    ("%register approve seven", "invalid int value: 'seven'"),
    ("%register reject 7", "the following arguments are required: --comment"),
    ("%register requests --state closed", "invalid choice: 'closed'"),
    ("%register policy m production --protected --unprotected", "not allowed with argument"),
    ("%register policy m --gate 'metrics.f1 > 0'", "--gate and --no-two-person set a policy"),
    ("%register policy m --protected", "give NAME and ALIAS to set a policy"),
])
def test_the_magic_refuses_bad_input_with_its_usage(ip, calls, line, fragment):
    with pytest.raises(UsageError) as info:
        cell(ip, line)
    assert fragment in str(info.value) and "usage: %register" in str(info.value)
    assert calls == []


def test_the_magic_on_a_store_that_is_not_a_team_store(ip, mlops, capsys):
    register(mlops, 0.8)
    with pytest.raises(UsageError, match="need a team store"):
        cell(ip, "%register request m@1 --alias production")
    assert cell(ip, "%register requests").empty and cell(ip, "%register policy m").empty
    assert cell(ip, "%register request --help") is None
    assert "usage: %register request REF --alias ALIAS" in capsys.readouterr().out
    assert cell(ip, "%register --help") is None
    assert "%register approve REQUEST_ID" in capsys.readouterr().out


def test_the_cli_passes_each_command_on(project, calls, capsys):
    assert cli(capsys, "models", "request", "m/2", "--alias", "production")[0] == 0
    assert cli(capsys, "models", "approve", "7")[0] == 0
    code, out, _ = cli(capsys, "models", "reject", "7", "--comment", "no")
    assert code == 0 and out.startswith("request 7: m@2 to become production")
    code, out, _ = cli(capsys, "models", "requests", "--state", "rejected", "--format", "json")
    assert code == 0 and out.strip() == '{"id":7}'
    code, out, _ = cli(capsys, "models", "policy", "m", "staging", "--protected", "--gate",
                       "metrics.f1 > 0.5")
    assert code == 0 and out.startswith("m@staging: protected")
    assert cli(capsys, "models", "policy", "m", "--format", "csv")[1].splitlines() == [
        "alias", "production", "staging"]
    assert calls == [
        ("request_promotion", ("m/2", "production"), {"comment": None}),
        ("approve", (7,), {"comment": None}),
        ("reject", (7, "no"), {}),
        ("promotion_requests", (None,), {"state": "rejected"}),
        ("set_alias_policy", ("m", "staging"), {"protected": True, "gate": "metrics.f1 > 0.5",
                                                "two_person": True}),
        ("alias_policies", ("m",), {}),
    ]


@pytest.mark.parametrize("args, message", [
    (("request", "m@2"), "the following arguments are required: --alias"),
    (("approve", "x"), "invalid int value: 'x'"),
    (("reject", "3"), "the following arguments are required: --comment"),
    (("requests", "--state", "done"), "invalid choice: 'done'"),
    (("policy", "m", "--no-two-person"), "--gate and --no-two-person set a policy"),
    (("policy", "m", "--unprotected"), "give NAME and ALIAS to set a policy"),
])
def test_the_cli_refuses_bad_input_with_exit_2(project, calls, capsys, args, message):
    code, _, err = cli(capsys, "models", *args)
    assert code == 2 and message in error_line(err)
    assert calls == []


@pytest.mark.postgres
def test_the_cli_on_a_team_store(team, mlops, m, capsys):
    """Exit 1 and one line for what the database refused; 2 for a store that cannot."""
    with team.acting_as(team.users["contributor"]):
        code, out, _ = cli(capsys, "models", "request", "m@2", "--alias", "production")
        assert code == 0 and "awaits a maintainer's approval" in out
        code, _, err = cli(capsys, "models", "approve", "2")
        assert code == 1 and err.count("\n") == 1
        assert "(role contributor) may not approve promotion requests: that needs the " \
               "maintainer role" in err
    with team.acting_as(team.users["maintainer"]):
        code, out, _ = cli(capsys, "models", "approve", "2", "--comment", "ship it")
        assert code == 0 and out.strip() == (f"request 2 approved by {team.users['maintainer']}"
                                             ": m@2 became production")
        code, _, err = cli(capsys, "models", "approve", "2")
        assert code == 2 and "was approved already" in error_line(err)


@pytest.mark.postgres
async def test_rest_acts_with_its_users_database_role(api, team, mlops, m):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(alice):
        status, body = await api("models/m/requests", "POST",
                                 {"version": 2, "alias": "production", "comment": "rest"})
        assert status == 200 and (body["state"], body["requested_by"]) == ("open", alice)
        request = body["id"]
        status, body = await api(f"requests/{request}/approve", "POST", {})
        assert status == 403 and "(role contributor) may not approve" in body["error"]
        status, body = await api("models/m/policies/production", "PUT", {"gate": "metrics.f1 > 0"})
        assert status == 403 and "insert on alias_policies needs maintainer" in body["error"]
        status, body = await api("models/m/aliases", "POST", {"alias": "production", "version": 2})
        assert status == 403 and "request_promotion('m@2', 'production')" in body["error"]
        status, body = await api("requests")
        assert status == 200 and [r["id"] for r in body["requests"]] == [request]
    with team.acting_as(carol):
        status, body = await api(f"requests/{request}/approve", "POST", {"comment": "fine"})
        assert status == 200 and (body["state"], body["decided_by"]) == ("approved", carol)
        assert production(mlops) == 2
        status, body = await api(f"requests/{request}/approve", "POST", {})
        assert status == 400 and "was approved already" in body["error"]
        status, body = await api("requests/999/reject", "POST", {"comment": "no"})
        assert status == 404
        status, body = await api("models/m/policies/production", "PUT",
                                 {"gate": "metrics.f1 > 0.95", "two_person": False})
        assert status == 200 and (body["gate"], body["updated_by"]) == ("metrics.f1 > 0.95", carol)
        status, body = await api("models/m/requests", "POST", {"version": 1, "alias": "production"})
        assert status == 409 and "does not pass the gate of production" in body["error"]
        status, body = await api("models/m/policies")
        assert status == 200 and body["policies"][0]["two_person"] is False
        status, body = await api("models/m/requests", params={"state": "all"})
        assert status == 200 and body["requests"][-1]["decision_comment"] == "fine"
        status, model = await api("models/m")
        last = model["history"][-1]
        assert (last["requested_by"], last["approved_by"], last["request_id"]) == (
            alice, carol, request)
        for path, method, body in (
                ("requests/0/approve", "POST", {}),
                ("requests/1/reject", "POST", {}),
                ("models/m/requests", "GET", None),
                ("models/m/policies/production", "PUT", {"protected": "yes"})):
            params = {"state": "closed"} if method == "GET" else None
            status, answer = await api(path, method, body, params=params)
            assert status == 400, (path, answer)


async def test_rest_on_a_store_that_is_not_a_team_store(api, mlops):
    register(mlops, 0.8)
    status, body = await api("models/m/requests", "POST", {"version": 1, "alias": "production"})
    assert status == 400 and "need a team store" in body["error"]
    status, body = await api("models/m/policies")
    assert (status, body) == (200, {"policies": []})
    status, body = await api("requests", params={"state": "all"})
    assert (status, body) == (200, {"requests": []})
    status, body = await api("models/ghost/requests")
    assert status == 404
