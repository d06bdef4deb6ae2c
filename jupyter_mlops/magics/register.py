"""`%register`: register models, move aliases (with gates), list, show and compare versions,
registry events and the hooks they are delivered to; on a team store, alias policies and
promotion requests."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %register VAR --name NAME [--alias ALIAS] [--description TEXT] "
        "[--signature VAR]\n       %register list|show|promote|alias|history|compare|events|"
        "hooks|hook|request|approve|reject|requests|policy ... (%register SUBCOMMAND --help)",
    "list": "usage: %register list [NAME]",
    "show": "usage: %register show NAME[@ALIAS|/VERSION]",
    "promote": "usage: %register promote NAME VERSION --alias ALIAS [--require EXPR] "
               "[--comment TEXT]",
    "alias": "usage: %register alias NAME ALIAS VERSION [--comment TEXT]",
    "history": "usage: %register history NAME [ALIAS]",
    "compare": "usage: %register compare NAME V1 V2 ...",
    "events": "usage: %register events [NAME] [--since ID] [--limit N]",
    "hooks": "usage: %register hooks [NAME]",
    "hook": "usage: %register hook add KIND[,KIND...] [--webhook URL] [--pipeline NAME] "
            "[--model NAME]\n       %register hook remove ID",
    "request": "usage: %register request REF --alias ALIAS [--comment TEXT]",
    "approve": "usage: %register approve REQUEST_ID [--comment TEXT]",
    "reject": "usage: %register reject REQUEST_ID --comment TEXT",
    "requests": "usage: %register requests [NAME] [--state open|approved|rejected|all]",
    "policy": "usage: %register policy [NAME [ALIAS]] [--protected|--unprotected] "
              "[--gate EXPR] [--no-two-person]",
}

DOC = """Register models and move their aliases from cells.

%register VAR --name NAME [--alias ALIAS] [--description TEXT] [--signature VAR]
    store the fitted model in VAR as the next version of NAME, linked to the active run and
    its training data (the signature comes from that data, or from an example DataFrame)
%register list [NAME]                          models, or the versions of one
%register show NAME[@ALIAS|/VERSION]           one version (the latest by default)
%register promote NAME VERSION --alias ALIAS [--require EXPR] [--comment TEXT]
    move ALIAS to VERSION only if EXPR holds, e.g.
    --require "metrics.f1 >= production.metrics.f1"
%register alias NAME ALIAS VERSION [--comment TEXT]   move an alias (recorded)
%register history NAME [ALIAS]                 every alias move: who, when, from, to, why
%register compare NAME V1 V2 ...               versions side by side (numbers or aliases)
%register events [NAME] [--since ID] [--limit N]
    registry events (registered, requested, approved, rejected, alias_moved), newest first,
    with their deliveries to hooks
%register hooks [NAME]                         the hooks events are delivered to
%register hook add KIND[,KIND...] [--webhook URL] [--pipeline NAME] [--model NAME]
    deliver these kinds of event (of one model, or of every model) from now on: POST each to
    the webhook and/or queue a run of the pipeline (on a team store: maintainers only)
%register hook remove ID                       stop a hook

On a team store (docs/team.md), a protected alias (production by default) moves only by an
approved request:
%register request REF --alias ALIAS [--comment TEXT]   ask for REF (clf@3, clf@staging) to
    become ALIAS; the alias's gate must hold now, and again when approved
%register approve REQUEST_ID [--comment TEXT]  approve it (maintainers; another person than
    the requester unless the policy says otherwise): the alias moves
%register reject REQUEST_ID --comment TEXT     reject it, saying why
%register requests [NAME] [--state open|approved|rejected|all]   the requests (open ones)
%register policy [NAME]                        the alias policies (of one model)
%register policy NAME ALIAS --protected|--unprotected [--gate EXPR] [--no-two-person]
    set how ALIAS moves (maintainers; replaces its policy whole)
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("register", USAGE, sub)


@magics_class
class RegisterMagics(Magics):
    @line_magic
    @guarded(_usage)
    def register(self, line: str = "", cell: str | None = None) -> Any:
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        sub, rest = args[0], args[1:]
        if sub in USAGE and sub:
            return getattr(self, f"_{sub}")(rest)
        return self._model(args)

    register.__doc__ = DOC

    def _variable(self, name: str, what: str) -> Any:
        if not name.isidentifier() or name not in self.shell.user_ns:
            raise MLOpsUsageError(f"no variable named {name!r} holds {what}")
        return self.shell.user_ns[name]

    def _model(self, args: list[str]) -> Any:
        from ..registry.versions import register_model

        p = _parser("")
        p.add_argument("var")
        p.add_argument("--name", required=True)
        p.add_argument("--alias")
        p.add_argument("--description")
        p.add_argument("--signature")
        p.add_argument("--comment")
        opts = p.parse_args(args)
        model = self._variable(opts.var, "a model")
        example = self._variable(opts.signature, "an example DataFrame") if opts.signature \
            else None
        return register_model(model, opts.name, alias=opts.alias, signature=example,
                              description=opts.description, comment=opts.comment)

    def _list(self, rest: list[str]) -> Any:
        from ..registry.versions import list_models

        p = _parser("list")
        p.add_argument("name", nargs="?")
        return list_models(p.parse_args(rest).name)

    def _show(self, rest: list[str]) -> Any:
        from ..registry.versions import get_model_version

        p = _parser("show")
        p.add_argument("ref")
        return get_model_version(p.parse_args(rest).ref)

    def _promote(self, rest: list[str]) -> Any:
        from ..registry.aliases import promote

        p = _parser("promote")
        p.add_argument("name")
        p.add_argument("version", type=int)
        p.add_argument("--alias", required=True)
        p.add_argument("--require")
        p.add_argument("--comment")
        opts = p.parse_args(rest)
        version = promote(opts.name, opts.version, opts.alias, require=opts.require,
                          comment=opts.comment)
        print(f"{version.ref} is now {opts.alias}")
        return None

    def _alias(self, rest: list[str]) -> Any:
        from ..registry.aliases import set_alias

        p = _parser("alias")
        p.add_argument("name")
        p.add_argument("alias")
        p.add_argument("version", type=int)
        p.add_argument("--comment")
        opts = p.parse_args(rest)
        version = set_alias(opts.name, opts.alias, opts.version, comment=opts.comment)
        print(f"{version.ref} is now {opts.alias}")
        return None

    def _history(self, rest: list[str]) -> Any:
        from ..registry.aliases import alias_history

        p = _parser("history")
        p.add_argument("name")
        p.add_argument("alias", nargs="?")
        opts = p.parse_args(rest)
        return alias_history(opts.name, opts.alias)

    def _compare(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..registry.compare import compare_models

        p = _parser("compare")
        p.add_argument("name")
        p.add_argument("versions", nargs="+")
        opts = p.parse_args(rest)
        comparison = compare_models(opts.name, opts.versions)
        display(comparison.figure())
        return comparison

    def _events(self, rest: list[str]) -> Any:
        from ..team.events import registry_events

        p = _parser("events")
        p.add_argument("name", nargs="?")
        p.add_argument("--since", type=int)
        p.add_argument("--limit", type=int, default=100)
        opts = p.parse_args(rest)
        return registry_events(opts.name, since=opts.since, limit=opts.limit)

    def _hooks(self, rest: list[str]) -> Any:
        from ..team.events import event_hooks

        p = _parser("hooks")
        p.add_argument("name", nargs="?")
        return event_hooks(p.parse_args(rest).name)

    def _hook(self, rest: list[str]) -> Any:
        from ..team.events import add_event_hook, describe_hook, remove_event_hook

        p = _parser("hook")
        p.add_argument("action", choices=["add", "remove"])
        p.add_argument("what", help="the kinds to add a hook for, or the id of one to remove")
        p.add_argument("--webhook")
        p.add_argument("--pipeline")
        p.add_argument("--model")
        opts = p.parse_args(rest)
        if opts.action == "add":
            hook = add_event_hook(opts.what, webhook=opts.webhook, pipeline=opts.pipeline,
                                  model=opts.model)
            print(f"hook {hook.id}: {describe_hook(hook)}")
            return None
        if opts.webhook or opts.pipeline or opts.model:
            raise MLOpsUsageError("hook remove takes only the hook's id")
        if not opts.what.isdigit():
            raise MLOpsUsageError(f"hook remove takes the hook's id (a number), got "
                                  f"{opts.what!r}")
        remove_event_hook(int(opts.what))
        print(f"hook {opts.what} removed")
    def _request(self, rest: list[str]) -> Any:
        from ..team.promotions import request_promotion

        p = _parser("request")
        p.add_argument("ref")
        p.add_argument("--alias", required=True)
        p.add_argument("--comment")
        opts = p.parse_args(rest)
        print(request_promotion(opts.ref, opts.alias, comment=opts.comment))
        return None

    def _approve(self, rest: list[str]) -> Any:
        from ..team.promotions import approve

        p = _parser("approve")
        p.add_argument("request_id", type=int)
        p.add_argument("--comment")
        opts = p.parse_args(rest)
        print(approve(opts.request_id, comment=opts.comment))
        return None

    def _reject(self, rest: list[str]) -> Any:
        from ..team.promotions import reject

        p = _parser("reject")
        p.add_argument("request_id", type=int)
        p.add_argument("--comment", required=True)
        opts = p.parse_args(rest)
        print(reject(opts.request_id, opts.comment))
        return None

    def _requests(self, rest: list[str]) -> Any:
        from ..team.promotions import promotion_requests

        p = _parser("requests")
        p.add_argument("name", nargs="?")
        p.add_argument("--state", default="open",
                       choices=["open", "approved", "rejected", "all"])
        opts = p.parse_args(rest)
        return promotion_requests(opts.name, state=opts.state)

    def _policy(self, rest: list[str]) -> Any:
        from ..team.promotions import alias_policies, set_alias_policy

        p = _parser("policy")
        p.add_argument("name", nargs="?")
        p.add_argument("alias", nargs="?")
        protection = p.add_mutually_exclusive_group()
        protection.add_argument("--protected", action="store_true", default=None)
        protection.add_argument("--unprotected", dest="protected", action="store_false")
        p.add_argument("--gate")
        p.add_argument("--no-two-person", dest="two_person", action="store_false")
        opts = p.parse_args(rest)
        if opts.protected is None:  # a listing: setting needs --protected or --unprotected
            if opts.gate is not None or not opts.two_person:
                raise MLOpsUsageError("--gate and --no-two-person set a policy: give "
                                      "NAME ALIAS and --protected or --unprotected")
            policies = alias_policies(opts.name)
            return policies[policies["alias"] == opts.alias] if opts.alias else policies
        if opts.alias is None:
            raise MLOpsUsageError("give NAME and ALIAS to set a policy")
        print(set_alias_policy(opts.name, opts.alias, protected=opts.protected, gate=opts.gate,
                               two_person=opts.two_person))
        return None
