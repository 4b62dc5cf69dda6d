"""Static checks of a scenario without running it: unknown keys at every depth (steps, actions,
buttons, matchers, probes, faults, call counts, `include`'s `with`), undefined `${var}`, unknown
parties and message keys, include cycles. Every problem carries its file and line.

An unknown key is never ignored: the runner reads only the keys it knows, so a typo
(`{tap: {lable: Pay}}`, `contians:`) would otherwise change what a scenario tests without a word.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from bot.catalogs import catalog_locales
from bot.render import template_keys
from payments.rails.base import CALL_NAMES
from sim import patterns
from sim.scenarios.loader import Node, NodeList, ScenarioError, load_yaml, where
from sim.scenarios.spec import (
    ACTION_KEYS,
    ACTIONS,
    BIOMETRIC_ANSWERS,
    BUTTON_KEYS,
    CALL_COUNT_KEYS,
    CALL_WHEN,
    CALL_WITH,
    CLOCK_KEYS,
    FAULT_KEYS,
    GIVEN_KEYS,
    INVARIANTS,
    KINDS,
    LABELS,
    MATCHER_KEYS,
    METHOD_KEYS,
    METHOD_KINDS,
    OPS,
    OUTCOMES,
    PARTIAL_KEYS,
    PARTY_KEYS,
    PAYMENTS_KEYS,
    PROBES,
    QUIET_KEYS,
    STEP_KEYS,
    TAP_KEYS,
    TOP_KEYS,
    VAR,
    duration_problem,
    is_duration,
)


class Linter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[ScenarioError] = []
        self.keys = _message_keys()
        self.parties: set[str] = set()
        self.read: list[tuple[Path, object]] = []  # every file parsed, and what it parsed to

    def load(self, path: Path) -> Any:
        doc = load_yaml(path)
        self.read.append((path, doc))
        return doc

    def fail(self, node: object, message: str, parent: object = None) -> None:
        file, line = where(node, parent if isinstance(parent, Node | NodeList) else None)
        self.problems.append(ScenarioError(file or str(self.path), line, message))

    def run(self) -> list[ScenarioError]:
        try:
            doc = self.load(self.path)
        except ScenarioError as exc:
            return [exc]
        if not isinstance(doc, Node):
            self.fail(doc, "a scenario is a mapping with `parties` and `steps`")
            return self.problems
        self._unknown(doc, TOP_KEYS, "scenario")
        if "clock" in doc:
            self._mapping(doc["clock"], CLOCK_KEYS, "clock", doc)
        if doc.get("version", 1) != 1:
            self.fail(doc, f"version {doc.get('version')!r} is not supported (use 1)")
        parties = doc.get("parties") or {}
        if not isinstance(parties, dict) or not parties:
            self.fail(doc, "`parties` must name at least one party")
            parties = {}
        for name, party in parties.items():
            self.parties.add(name)
            if not isinstance(party, dict):
                self.fail(parties, f"party {name!r} must be a mapping")
                continue
            self._unknown(party, PARTY_KEYS, f"party {name!r}")
            if party.get("role") not in ("business", "customer"):
                self.fail(party, f"party {name!r}: role must be business or customer")
            if not party.get("phone"):
                self.fail(party, f"party {name!r} needs a phone")
            if "locale" in party and str(party["locale"]) not in catalog_locales():
                installed = ", ".join(catalog_locales())
                self.fail(party, f"party {name!r}: locale must be one of {installed}")
        self._given(doc.get("given") or {}, parties)
        for name in doc.get("invariants") or []:
            if name not in INVARIANTS:
                self.fail(
                    doc.get("invariants"),
                    f"unknown invariant {name!r}; known: {', '.join(sorted(INVARIANTS))}",
                )
        known = {"start"} | set(_param_names(doc))
        self._steps(doc.get("steps"), known, doc, [self.path.resolve()])
        return self.problems

    def check_step(self, step: Node, known: set[str]) -> list[ScenarioError]:
        """One step, checked as `run` checks each of a file's (the Python scenario API checks its
        steps so, one by one, with the parties in `self.parties`); `known` grows as it would."""
        self.problems = []
        self._step(step, known, [self.path.resolve()])
        return self.problems

    def _unknown(
        self, node: dict[str, Any], allowed: set[str], what: str, parent: object = None
    ) -> None:
        for key in node:
            if key not in allowed:
                self.fail(
                    node,
                    f"unknown key {key!r} in {what}; expected one of {', '.join(sorted(allowed))}",
                    parent,
                )

    def _mapping(self, node: Any, allowed: set[str], what: str, parent: object) -> bool:
        """Whether `node` is a mapping (said if not); its unknown keys are reported."""
        if not isinstance(node, dict):
            self.fail(node, f"{what} must be a mapping, not {node!r}", parent)
            return False
        self._unknown(node, allowed, what, parent)
        return True

    def _given(self, given: Any, parties: dict[str, Any]) -> None:
        if not isinstance(given, dict):
            self.fail(given, "`given` must be a mapping of party names")
            return
        for name, seed in given.items():
            if name not in parties:
                self.fail(given, f"`given` names {name!r}, which is not a party")
                continue
            if not isinstance(seed, dict):
                self.fail(given, f"given {name!r} must be a mapping")
                continue
            self._unknown(seed, GIVEN_KEYS, f"given {name!r}")
            if "payments" in seed:
                self._mapping(seed["payments"], PAYMENTS_KEYS, f"given {name!r} payments", seed)
            for method in seed.get("methods") or []:
                if not isinstance(method, dict) or len(METHOD_KINDS & set(method)) != 1:
                    self.fail(
                        method,
                        "a method names exactly one of card, upi, pix, paynow, wallet",
                        seed,
                    )
                    continue
                self._unknown(method, METHOD_KEYS, "method")

    def _steps(self, steps: Any, known: set[str], parent: object, chain: list[Path]) -> None:
        if not isinstance(steps, list):
            self.fail(parent, "`steps` must be a list")
            return
        for step in steps:
            if not isinstance(step, Node):
                self.fail(steps, f"a step must be a mapping, not {step!r}")
                continue
            self._step(step, known, chain)

    def _step(self, step: Node, known: set[str], chain: list[Path]) -> None:
        actors = [k for k in step if k in self.parties or VAR.fullmatch(k)]
        for key in step:
            if VAR.fullmatch(key):
                self._vars(key, known, node=step)
            elif key not in STEP_KEYS and key not in self.parties:
                hint = " (not a declared party)" if key.isidentifier() else ""
                self.fail(step, f"unknown step key {key!r}{hint}")
        for actor in actors:
            self._action(step[actor], step, known)
        self._vars(step, known, skip={"expect", "together", "exports"})
        if "advance" in step and (problem := duration_problem(step["advance"])):
            self.fail(step, f"advance: {problem}")
        if "expect_quiet" in step:
            quiet = step["expect_quiet"]
            if not (isinstance(quiet, dict) and is_duration(quiet.get("for", ""))):
                self.fail(step, "expect_quiet takes {for: <duration>}")
            elif isinstance(quiet, dict):
                self._unknown(quiet, QUIET_KEYS, "expect_quiet", step)
        if "inject" in step:
            self._inject(step["inject"], step)
        if "expect_calls" in step:
            self._expect_calls(step["expect_calls"], step)
        if "snapshot" in step:
            known.add(str(step["snapshot"]))
        for probe in step.get("expect_state") or []:
            self._probe(probe, step)
        for action in step.get("together") or []:
            if not isinstance(action, dict) or not any(
                k in self.parties or VAR.fullmatch(k) for k in action
            ):
                self.fail(step, "each `together` entry is an action keyed by a party")
                continue
            for key in action:
                if key in self.parties or VAR.fullmatch(key):
                    self._action(action[key], step, known)
                else:
                    self.fail(action, f"together: {key!r} is not a declared party", step)
        if "expect" in step:
            self._expect(step["expect"], step, known)
        if "include" in step:
            self._include(step, known, chain)

    def _action(self, action: Any, step: Node, known: set[str]) -> None:
        if isinstance(action, str):
            return
        if not isinstance(action, dict):
            self.fail(step, f"an action is text or a mapping, not {action!r}")
            return
        for key in action:
            if key not in ACTION_KEYS:
                self.fail(
                    action,
                    f"unknown action {key!r}; expected one of {', '.join(sorted(ACTIONS))}",
                    step,
                )
        acts = sorted(ACTIONS & set(action))
        if not acts:
            self.fail(action, "an action needs one of " + ", ".join(sorted(ACTIONS)), step)
        elif len(acts) > 1:
            # The runner would do only the first it looks at, and drop the rest unsaid.
            self.fail(action, f"an action does one thing, this one has {', '.join(acts)}", step)
        if "tap" not in action:
            for key in sorted(TAP_KEYS & set(action)):
                self.fail(action, f"{key!r} goes with tap", step)
        tap = action.get("tap")
        if isinstance(tap, dict):
            self._button(tap, "tap", action)
        elif "tap" in action and not isinstance(tap, str):
            self.fail(action, f"tap takes a button id or {{label: ...}}, not {tap!r}", step)
        if "nth" in action:
            self._nth(action, step)
        if "share_contact" in action and not isinstance(action["share_contact"], bool | str):
            self.fail(action, "share_contact: true (your own) or a phone number", step)
        code = action.get("pay_code")
        if "pay_code" in action and (not isinstance(code, str) or not code.strip()):
            self.fail(action, 'pay_code: the code\'s text, e.g. "${code}" from a regex', step)
        answer = action.get("biometric")
        if "biometric" in action and answer not in BIOMETRIC_ANSWERS and not _var(answer):
            self.fail(action, f"biometric: {answer!r} is not approve or refuse", step)

    def _button(self, spec: Any, what: str, parent: object) -> None:
        """A button by label: `{label | label_contains | label_regex: ..., nth: N}`."""
        if isinstance(spec, str):
            return
        if not self._mapping(spec, BUTTON_KEYS, f"button ({what})", parent):
            return
        if "nth" in spec:
            self._nth(spec, parent)
        labels = len(LABELS & set(spec))
        if labels > 1 or (labels == 0 and set(spec) <= BUTTON_KEYS):  # a typo is said above
            self.fail(spec, f"{what}: a button names one of {', '.join(sorted(LABELS))}", parent)
        if "label_regex" in spec and (why := patterns.problem(str(spec["label_regex"]))):
            self.fail(spec, f"{what}: label_regex: {why}", parent)

    def _expect(self, expect: Any, step: Node, known: set[str]) -> None:
        if not isinstance(expect, dict):
            self.fail(step, "`expect` maps channels (party or party.sms) to lists of matchers")
            return
        for channel, matchers in expect.items():
            party = str(channel).removesuffix(".sms")
            if VAR.fullmatch(party):
                self._vars(party, known, node=step)
            elif party not in self.parties:
                self.fail(
                    expect,
                    f"expect: unknown channel {channel!r} (parties: "
                    f"{', '.join(sorted(self.parties))})",
                    step,
                )
            if not isinstance(matchers, list):
                self.fail(expect, f"expect.{channel} must be a list of matchers", step)
                continue
            for matcher in matchers:
                self._matcher(matcher, expect, known)

    def _matcher(self, matcher: Any, parent: object, known: set[str]) -> None:
        if isinstance(matcher, str):
            self._vars(matcher, known, node=parent)
            return
        if not isinstance(matcher, dict):
            self.fail(parent, f"a matcher is text or a mapping, not {matcher!r}")
            return
        for key in matcher:
            if key not in MATCHER_KEYS:
                self.fail(
                    matcher,
                    f"unknown matcher {key!r}; expected one of {', '.join(sorted(MATCHER_KEYS))}",
                    parent,
                )
        says = str(matcher.get("says", ""))
        if "says" in matcher and not VAR.search(says) and says not in self.keys:
            self.fail(matcher, f"says: unknown message key {matcher['says']!r}", parent)
        if matcher.get("kind", "send") not in KINDS:
            self.fail(matcher, f"kind must be one of {', '.join(sorted(KINDS))}", parent)
        rows = matcher.get("buttons")
        if "buttons" in matcher and rows != "none":
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                self.fail(matcher, "buttons: a list of rows ([[pay, decline]]) or none", parent)
            else:
                for row in rows:
                    for spec in row:
                        self._button(spec, "buttons", matcher)
        wanted = matcher.get("buttons_include")
        if "buttons_include" in matcher:
            if not isinstance(wanted, list):
                self.fail(matcher, "buttons_include: a list of buttons", parent)
            else:
                for spec in wanted:
                    self._button(spec, "buttons_include", matcher)
        self._vars({k: v for k, v in matcher.items() if k != "regex"}, known, node=parent)
        if "regex" in matcher:
            if why := patterns.problem(str(matcher["regex"])):
                self.fail(matcher, f"regex: {why}", parent)
            else:
                known.update(patterns.names(str(matcher["regex"])))
        if "save" in matcher:
            known.add(str(matcher["save"]))

    def _probe(self, probe: Any, step: Node) -> None:
        if not isinstance(probe, dict):
            self.fail(step, "each expect_state entry is a mapping like {request: ..., status: ..}")
            return
        kinds = [k for k in list(probe)[:1] if k in PROBES]  # the first key names the probe
        if not kinds:
            self.fail(probe, "a probe starts with one of " + ", ".join(sorted(PROBES)), step)
            return
        for key, value in probe.items():
            if key != kinds[0] and key not in PROBES[kinds[0]]:
                self.fail(probe, f"{kinds[0]} probe: unknown field {key!r}", step)
            if isinstance(value, dict):
                for op in value:
                    if op not in OPS:
                        self.fail(probe, f"unknown comparison {op!r}", step)

    def _include(self, step: Node, known: set[str], chain: list[Path]) -> None:
        written = Path(step.file).parent / str(step["include"])  # problems cite it as written
        target = written.resolve()
        if target in chain:
            self.fail(step, "include cycle: " + " -> ".join(p.name for p in [*chain, target]))
            return
        if len(chain) > MAX_INCLUDE_DEPTH:
            # Far past any real scenario, and before Python's own recursion limit.
            self.fail(step, f"includes nest more than {MAX_INCLUDE_DEPTH} deep")
            return
        try:
            partial = self.load(written)
        except ScenarioError as exc:
            self.problems.append(ScenarioError(step.file, step.line, f"include: {exc}"))
            return
        if not isinstance(partial, Node):
            self.fail(step, f"include: {target.name} is not a partial")
            return
        self._unknown(partial, PARTIAL_KEYS, f"partial {target.name}")
        inner = (
            set(known) | set((step.get("with") or {}).keys()) | set(partial.get("params") or [])
        )
        params = partial.get("params") or []
        given = step.get("with") or {}
        for param in params:
            if param not in given:
                self.fail(step, f"include {target.name}: missing parameter {param!r}")
        for name in given:
            if name not in params:
                self.fail(
                    given,
                    f"include {target.name}: unknown parameter {name!r}; its params: "
                    f"{', '.join(map(str, params)) or 'none'}",
                    step,
                )
        self._steps(partial.get("steps"), inner, partial, [*chain, target])
        exports = step.get("exports") or []
        pairs = exports.items() if isinstance(exports, dict) else ((e, e) for e in exports)
        for outer, name in pairs:
            if name not in inner:
                self.fail(
                    step, f"include {target.name}: exports {name!r}, which it never captures"
                )
            known.add(str(outer))

    def _nth(self, node: dict[str, Any], parent: object) -> None:
        nth = node["nth"]
        if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
            self.fail(node, f"nth: {nth!r} is not a whole number from 1", parent)

    def _inject(self, spec: Any, step: Node) -> None:
        if not isinstance(spec, dict):
            self.fail(step, "inject maps rail calls to lists of faults")
            return
        for name, faults in spec.items():
            telegram = str(name).startswith("telegram.")
            if name not in CALL_NAMES and not telegram:
                self.fail(
                    spec,
                    f"inject: unknown rail call {name!r}; known: "
                    f"{', '.join(CALL_NAMES)}, telegram.<method>",
                    step,
                )
                continue
            if not isinstance(faults, list):
                self.fail(
                    spec, f"inject {name}: a list of faults, like [{{outcome: timeout}}]", step
                )
                continue
            for fault in faults:
                if not self._mapping(fault, FAULT_KEYS, f"{name} fault", spec):
                    continue
                outcome = fault.get("outcome", "ok")
                if outcome not in OUTCOMES and not _var(outcome):
                    self.fail(
                        fault,
                        f"{name} fault: outcome {outcome!r} is not one of "
                        f"{', '.join(sorted(OUTCOMES))}",
                        spec,
                    )
                if "by" in fault and not is_duration(fault["by"]):
                    self.fail(fault, f"{name} fault: by: {fault['by']!r} is not a duration", spec)
                times = fault.get("times", 1)
                if not (type(times) is int and times >= 1) and not _var(times):
                    self.fail(fault, f"{name} fault: times must be a whole number >= 1", spec)
                if "when" in fault and not telegram:
                    self._mapping(fault["when"], CALL_WHEN[name], f"`when` of {name}", fault)

    def _expect_calls(self, spec: Any, step: Node) -> None:
        if not isinstance(spec, dict):
            self.fail(step, "expect_calls maps rail calls to counts")
            return
        for name, want in spec.items():
            if name == "since":
                continue
            if name not in CALL_NAMES:
                self.fail(spec, f"expect_calls: unknown rail call {name!r}", step)
                continue
            if not isinstance(want, dict):
                if not _count(want):
                    self.fail(spec, f"expect_calls {name}: a count, or {{count, with}}", step)
                continue
            self._unknown(want, CALL_COUNT_KEYS, f"expect_calls {name}", spec)
            count = want.get("count", 1)
            if isinstance(count, dict):
                for op in count:
                    if op not in OPS:
                        self.fail(want, f"unknown comparison {op!r}", spec)
            elif not _count(count):
                self.fail(want, f"expect_calls {name}: count {count!r} is not a number", spec)
            if "with" in want:
                self._mapping(want["with"], CALL_WITH[name], f"`with` of {name}", want)

    def _vars(
        self,
        value: Any,
        known: set[str],
        skip: set[str] = frozenset(),  # type: ignore[assignment]  # read-only default
        node: object = None,
    ) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key not in skip:
                    self._vars(inner, known, node=value if isinstance(value, Node) else node)
        elif isinstance(value, list):
            for inner in value:
                self._vars(inner, known, node=node)
        elif isinstance(value, str):
            for name in VAR.findall(value):
                if name not in known:
                    self.fail(node, f"${{{name}}} is used before it is defined")


def _param_names(doc: Node) -> list[str]:
    table = doc.get("parametrize")
    if isinstance(table, list) and table and isinstance(table[0], dict):
        return [str(k) for k in table[0]]
    if isinstance(table, dict):
        return [str(k) for k in table]
    return []


def _var(value: object) -> bool:
    """A whole `${name}`: its value is known only when the case runs."""
    return isinstance(value, str) and VAR.fullmatch(value) is not None


def _count(value: object) -> bool:
    """A number of calls: a whole number from 0, or a `${name}` for one."""
    return _var(value) or (type(value) is int and value >= 0)


# Problems by file, with the parsed documents they were found in: a parametrized file is
# linted once per case, and a file is linted again only when it or a partial it includes
# changed (`load_yaml` gives the same object for the same text).
_LINTED: dict[Path, tuple[list[tuple[Path, object]], list[ScenarioError]]] = {}
_LINTED_KEPT = 4096
MAX_INCLUDE_DEPTH = 50


@cache
def _message_keys() -> set[str]:
    return template_keys()


def _unchanged(read: list[tuple[Path, object]]) -> bool:
    try:
        return all(load_yaml(path) is doc for path, doc in read)
    except ScenarioError:
        return False


def lint(path: Path) -> list[ScenarioError]:
    cached = _LINTED.get(path)
    if cached is not None and _unchanged(cached[0]):
        return list(cached[1])
    linter = Linter(path)
    problems = linter.run()
    if len(_LINTED) >= _LINTED_KEPT:
        _LINTED.clear()
    _LINTED[path] = (linter.read, list(problems))
    return problems
