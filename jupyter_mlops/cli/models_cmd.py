"""`jupyter mlops models list|show|promote|alias|history|compare|score|events|hooks|hook-add|
hook-remove`, and on a team store `request|approve|reject|requests|policy` (alias policies and
promotion requests)."""

from __future__ import annotations

import json

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("models", help="list, show, promote, alias, compare and batch-score "
                                      "models; registry events and their hooks")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True

    ls = cmds.add_parser("list", help="models, or the versions of one")
    ls.add_argument("name", nargs="?")
    add_format(ls)
    ls.set_defaults(func=list_)

    show = cmds.add_parser("show", help="one version as JSON (the latest by default)")
    show.add_argument("ref", help="NAME, NAME@ALIAS, NAME/VERSION or NAME@VERSION")
    show.set_defaults(func=show_)

    promote = cmds.add_parser("promote", help="move an alias to a version if a gate holds")
    promote.add_argument("name")
    promote.add_argument("version", type=int)
    promote.add_argument("--alias", required=True)
    promote.add_argument("--require", help='e.g. "metrics.f1 >= production.metrics.f1"')
    promote.add_argument("--comment")
    promote.set_defaults(func=promote_)

    alias = cmds.add_parser("alias", help="move an alias to a version (or --delete it)")
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version", type=int, nargs="?")
    alias.add_argument("--delete", action="store_true")
    alias.add_argument("--comment")
    alias.set_defaults(func=alias_)

    history = cmds.add_parser("history", help="every alias move: who, when, from, to, why")
    history.add_argument("name")
    history.add_argument("alias", nargs="?")
    add_format(history)
    history.set_defaults(func=history_)

    cmp = cmds.add_parser("compare", help="versions' params and metrics side by side")
    cmp.add_argument("name")
    cmp.add_argument("versions", nargs="+", help="numbers or aliases")
    cmp.set_defaults(func=compare_)

    score = cmds.add_parser("score", help="score a parquet or CSV file in batches")
    score.add_argument("ref", help="NAME@ALIAS or NAME/VERSION")
    score.add_argument("input")
    score.add_argument("output")
    score.add_argument("--batch-size", type=int, default=65_536)
    score.add_argument("--prediction-column", default="prediction")
    score.set_defaults(func=score_)

    events = cmds.add_parser("events", help="registry events, newest first, with their "
                                            "deliveries to hooks")
    events.add_argument("name", nargs="?")
    events.add_argument("--since", type=int, help="only events with a larger id")
    events.add_argument("--limit", type=int, default=100)
    add_format(events)
    events.set_defaults(func=events_)

    hooks = cmds.add_parser("hooks", help="the hooks registry events are delivered to")
    hooks.add_argument("name", nargs="?", help="a model: the hooks its events go to")
    add_format(hooks)
    hooks.set_defaults(func=hooks_)

    hook_add = cmds.add_parser("hook-add", help="deliver kinds of registry event to a webhook "
                                                "and/or a pipeline (maintainers)")
    hook_add.add_argument("kinds", help="comma separated: registered, requested, approved, "
                                        "rejected, alias_moved")
    hook_add.add_argument("--webhook", help="URL that receives each event as a JSON POST")
    hook_add.add_argument("--pipeline", help="pipeline to queue a run of for each event")
    hook_add.add_argument("--model", help="only this model's events (default: every model)")
    hook_add.set_defaults(func=hook_add_)

    hook_remove = cmds.add_parser("hook-remove", help="stop a hook (its deliveries stay)")
    hook_remove.add_argument("hook_id", type=int)
    hook_remove.set_defaults(func=hook_remove_)

    request = cmds.add_parser("request", help="ask for a version to become a protected alias "
                                              "(team stores; its gate must hold)")
    request.add_argument("ref", help="NAME@VERSION, NAME/VERSION or NAME@ALIAS")
    request.add_argument("--alias", required=True)
    request.add_argument("--comment")
    request.set_defaults(func=request_)

    approve = cmds.add_parser("approve", help="approve a promotion request: the gate is "
                                              "checked again and the alias moves (maintainers)")
    approve.add_argument("request_id", type=int)
    approve.add_argument("--comment")
    approve.set_defaults(func=approve_)

    reject = cmds.add_parser("reject", help="reject a promotion request, saying why "
                                            "(maintainers)")
    reject.add_argument("request_id", type=int)
    reject.add_argument("--comment", required=True)
    reject.set_defaults(func=reject_)

    requests = cmds.add_parser("requests", help="promotion requests (the open ones by default)")
    requests.add_argument("name", nargs="?")
    requests.add_argument("--state", default="open",
                          choices=["open", "approved", "rejected", "all"])
    add_format(requests)
    requests.set_defaults(func=requests_)

    policy = cmds.add_parser("policy", help="alias policies; with NAME ALIAS and --protected "
                                            "or --unprotected, set one (maintainers)")
    policy.add_argument("name", nargs="?")
    policy.add_argument("alias", nargs="?")
    protection = policy.add_mutually_exclusive_group()
    protection.add_argument("--protected", action="store_true", default=None,
                            help="the alias moves only by an approved request")
    protection.add_argument("--unprotected", dest="protected", action="store_false",
                            help="set_alias and promote move it")
    policy.add_argument("--gate", help='what a request must pass, when opened and when '
                                       'approved: "metrics.f1 >= production.metrics.f1"')
    policy.add_argument("--no-two-person", dest="two_person", action="store_false",
                        help="the requester may approve its own request")
    add_format(policy)
    policy.set_defaults(func=policy_)


def list_(args) -> int:
    from ..registry.versions import list_models

    emit(list_models(args.name), args.format)
    return 0


def show_(args) -> int:
    from ..registry.versions import get_model_version

    print(json.dumps(get_model_version(args.ref).to_dict(), indent=2, default=str))
    return 0


def promote_(args) -> int:
    from ..registry.aliases import promote

    version = promote(args.name, args.version, args.alias, require=args.require,
                      comment=args.comment)
    print(f"{version.ref} is now {args.alias}")
    return 0


def alias_(args) -> int:
    from ..errors import MLOpsUsageError
    from ..registry.aliases import delete_alias, set_alias

    if args.delete:
        if args.version is not None:
            raise MLOpsUsageError("--delete takes no version")
        delete_alias(args.name, args.alias, comment=args.comment)
        print(f"removed {args.name}@{args.alias}")
        return 0
    if args.version is None:
        raise MLOpsUsageError("give the VERSION the alias should point at (or --delete)")
    version = set_alias(args.name, args.alias, args.version, comment=args.comment)
    print(f"{version.ref} is now {args.alias}")
    return 0


def history_(args) -> int:
    from ..registry.aliases import alias_history

    emit(alias_history(args.name, args.alias), args.format)
    return 0


def compare_(args) -> int:
    from ..registry.compare import compare_models

    emit(compare_models(args.name, args.versions).to_frame().reset_index(names="key"), "table")
    return 0


def score_(args) -> int:
    from ..serving.batch import score_batch

    print(score_batch(args.ref, args.input, args.output, batch_size=args.batch_size,
                      prediction_column=args.prediction_column))
    return 0


def events_(args) -> int:
    from ..team.events import registry_events

    frame = registry_events(args.name, since=args.since, limit=args.limit)
    if args.format == "table":  # one short line per event; json and csv keep every field
        frame["deliveries"] = frame["deliveries"].map(lambda done: "; ".join(
            f"hook {d['hook_id']}"
            + (f" webhook {d['webhook_status'] or 'posting'}" if d["webhook"] else "")
            + (f" run {d['pipeline_run_id'][:8]}" if d["pipeline_run_id"] else "")
            for d in done) or "-")
    emit(frame, args.format)
    return 0


def hooks_(args) -> int:
    from ..team.events import event_hooks

    emit(event_hooks(args.name), args.format)
    return 0


def hook_add_(args) -> int:
    from ..team.events import add_event_hook, describe_hook

    hook = add_event_hook(args.kinds, webhook=args.webhook, pipeline=args.pipeline,
                          model=args.model)
    print(f"hook {hook.id}: {describe_hook(hook)}")
    return 0


def hook_remove_(args) -> int:
    from ..team.events import remove_event_hook

    remove_event_hook(args.hook_id)
    print(f"hook {args.hook_id} removed")

def request_(args) -> int:
    from ..team.promotions import request_promotion

    print(request_promotion(args.ref, args.alias, comment=args.comment))
    return 0


def approve_(args) -> int:
    from ..team.promotions import approve

    print(approve(args.request_id, comment=args.comment))
    return 0


def reject_(args) -> int:
    from ..team.promotions import reject

    print(reject(args.request_id, args.comment))
    return 0


def requests_(args) -> int:
    from ..team.promotions import promotion_requests

    emit(promotion_requests(args.name, state=args.state), args.format)
    return 0


def policy_(args) -> int:
    from ..errors import MLOpsUsageError
    from ..team.promotions import alias_policies, set_alias_policy

    if args.protected is None:  # a listing: setting needs --protected or --unprotected
        if args.gate is not None or not args.two_person:
            raise MLOpsUsageError("--gate and --no-two-person set a policy: give NAME ALIAS "
                                  "and --protected or --unprotected")
        policies = alias_policies(args.name)
        emit(policies[policies["alias"] == args.alias] if args.alias else policies, args.format)
        return 0
    if args.alias is None:
        raise MLOpsUsageError("give NAME and ALIAS to set a policy")
    print(set_alias_policy(args.name, args.alias, protected=args.protected, gate=args.gate,
                           two_person=args.two_person))
    return 0
