"""The catalog of a scenario: its acts, channels, sanctions and rewards by name, and the checks
that every name one of them gives is one there is.

Each item names others: an act its channel, a channel the act its false records claim, scoring
the record kinds it gives points, a sanction the attempts it blocks, a reward those it grants.
A name that is not there is a one-line error at the field that gives it (:class:`At`), listing
the names there are. The checks run on the merged scenario (``Scenario._catalog``), since a
file may name an item that the file it extends declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from .schedule import every_date

if TYPE_CHECKING:
    from .scenario import Scenario

# Names of the catalog's items (acts, channels, sanctions, rewards): free, within a pattern that
# makes them counter names (``acts_<act>``, ``<attempt>_blocked``) and stream names.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
NAME_NOTE = ("a name is 1 to 40 lower-case letters, digits or '_', the first a letter, such as"
             " 'unpaid_parking'")
POSTING = "online_post"  # the act of [speech]: posting, with a content type; not in [acts]
# Records that a process makes, not an act: scoring may name them beside the acts.
PROCESS_RECORDS = ("judgment_unpaid", "content_flag", "tax_listed")
RESERVED = (POSTING, *PROCESS_RECORDS, "none")
LIST_NAMES = ("court", "tax", "travel_misconduct")
# What a sanction may block besides attempts: standings a citizen holds, counted as a stock.
STANDINGS = ("management_role", "internet")
# The engine keeps a citizen's day in one 64-bit word: a bit per act kind and posting's, the
# post's content type, the records of processes and one bit per channel that makes false
# records (docs/design/catalog.md, Limits).
MAX_ACTS = 40
MAX_FALSE_CHANNELS = 8
MAX_MEASURES = 31  # sanctions and rewards together: a bit each of a 64-bit word, below bit 63
MAX_LISTS = 16  # a citizen's lists are a bit each of a 16-bit word
MAX_COUNT = 4  # records a list's entry rule counts (kept as the days of the last ones)
MAX_KEPT = 63  # what a citizen has met, a bit each of one word (world.layout.history_names)
MAX_SCORE_THRESHOLDS = 8  # distinct scores of sanctions' score_below and rewards' score_above
# Under sanction_scope = "own_domain", the lists that may trigger a sanction that blocks each
# attempt: a record of the attempt's own domain (the project's reading of EU law,
# docs/presets/eu-baseline.md). An attempt not named here has no list of its own domain.
OWN_DOMAIN_LISTS: dict[str, tuple[str, ...]] = {
    "plane_ticket": ("travel_misconduct",), "train_ticket": ("travel_misconduct",),
    "credit_application": ("court",),
}


# who is kept out for someone else's standing, by the value of ``bears`` that makes them bear
# it: what they are called (the audit's and the history's names) and whose standing it is
BORNE_FOR: dict[str, tuple[str, str]] = {"children": ("children", "a parent's"),
                                         "household": ("relatives", "a household member's"),
                                         "employer": ("colleagues", "a colleague's")}


def words(name: str) -> str:
    """A catalog name in words: ``plane_ban`` -> ``plane ban``."""
    return name.replace("_", " ")


class At(ValueError):
    """A problem with the field at ``loc`` (a location under the scenario): the message is
    reported as that field's, not the scenario's."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def attempts(sc: Scenario) -> list[str]:
    """The acts of nature attempt, in the scenario's order."""
    return [name for name, act in sc.acts.items() if act.nature == "attempt"]


def record_kinds(sc: Scenario) -> list[str]:
    """What a record can be of: an act, or a process's record."""
    return [*sc.acts, *PROCESS_RECORDS]


def recorded_kinds(sc: Scenario) -> list[str]:
    """The record kinds that some record can be of: an act a channel observes or a channel's
    false records claim, or a process's record."""
    claimed = {c.false_as for c in sc.channels.values()}
    return [*(k for k, act in sc.acts.items() if act.channel != "none" or k in claimed),
            *PROCESS_RECORDS]


def false_channels(sc: Scenario) -> list[str]:
    """The channels that make false records (a false share above 0 on some date)."""
    return [name for name, c in sc.channels.items()
            if any(x.false_share > 0 for _, x in every_date(c))]


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def _unknown(what: str, name: str, there: Iterable[str], kind: str) -> str:
    return f"unknown {what} {name!r}; the {kind} are: {_listed(there)}"


def check(sc: Scenario) -> None:
    """Raise :class:`At` for the first name in the catalog that is not there or not allowed."""
    for problem in _problems(sc):
        raise problem


def _problems(sc: Scenario) -> Iterator[At]:
    yield from _acts(sc)
    yield from _channels(sc)
    yield from _records(sc)
    yield from _measures(sc)
    yield from _lists(sc)
    yield from _list_users(sc)
    yield from _score_thresholds(sc)


def _acts(sc: Scenario) -> Iterator[At]:
    if POSTING in sc.acts:
        yield At(("acts", POSTING), "posting rates are set per content type in [speech.content],"
                                    " not in [acts]")
    for name in sc.acts:
        if name in RESERVED:
            yield At(("acts", name), f"the name {name!r} is reserved (for records of processes"
                                     f" and for 'none'); reserved names: {_listed(RESERVED)}")
    if len(sc.acts) > MAX_ACTS:
        yield At(("acts",), f"{len(sc.acts)} act kinds; at most {MAX_ACTS} (the engine keeps a"
                            " bit per act kind of a citizen's day)")
    for name, act in sc.acts.items():
        if act.nature == "attempt" and act.opens != "none":
            yield At(("acts", name, "opens"), f"{name} is an attempt: it opens no process (an"
                                              " offence or a civic act may)")
        if act.channel != "none" and act.channel not in sc.channels:
            yield At(("acts", name, "channel"),
                     _unknown("channel", act.channel, [*sc.channels, "none"], "channels"))


def _channels(sc: Scenario) -> Iterator[At]:
    if "none" in sc.channels:
        yield At(("channels", "none"), "the name 'none' is reserved: an act with channel ="
                                       " \"none\" is never recorded")
    for name, channel in sc.channels.items():
        if channel.false_as != "none" and channel.false_as not in sc.acts:
            yield At(("channels", name, "false_as"),
                     _unknown("act", channel.false_as, [*sc.acts, "none"], "acts"))
    making = false_channels(sc)
    if len(making) > MAX_FALSE_CHANNELS:
        yield At(("channels",), f"{len(making)} channels make false records ({_listed(making)});"
                                f" at most {MAX_FALSE_CHANNELS}")


def _records(sc: Scenario) -> Iterator[At]:
    kinds = record_kinds(sc)
    scoring = sc.scoring
    named = [(("scoring", "points", k), k) for k in scoring.points]
    named += [(("scoring", "caps", k), k) for k in scoring.caps]
    named += [(("scoring", "expires_days", k), k) for k in scoring.expires_days]
    named += [(("scoring", "factors", i, "kinds"), k) for i, f in enumerate(scoring.factors)
              for k in f.kinds]
    for loc, kind in named:
        if kind not in kinds:
            yield At(loc, _unknown("record kind", kind, kinds, "record kinds (acts and"
                                                                " records of processes)"))


def _measures(sc: Scenario) -> Iterator[At]:
    """Sanctions and rewards: names unique, what they block or grant there and allowed."""
    tries = attempts(sc)
    count = len(sc.sanctions) + len(sc.rewards)
    if count > MAX_MEASURES:
        yield At(("sanctions",), f"{count} sanctions and rewards; at most {MAX_MEASURES} together")
    seen: dict[str, str] = {}
    for table, items, verb in (("sanctions", sc.sanctions, "blocks"),
                               ("rewards", sc.rewards, "grants")):
        for i, item in enumerate(items):
            if item.name in LIST_NAMES or item.name in sc.lists:
                yield At((table, i, "name"), f"{item.name!r} is the name of a list; a sanction or"
                                             " reward needs a name of its own")
            if item.name in seen:
                both = (f"two {table}" if seen[item.name] == table
                        else "a sanction and a reward")
                yield At((table, i, "name"), f"{item.name!r} names {both}; give each its own"
                                             " name (the run counts each by it)")
            seen[item.name] = table
            yield from _targets(sc, (table, i, verb), item, tries,
                                STANDINGS if verb == "blocks" else ())
    kept = _kept_per_citizen(sc)
    if kept > MAX_KEPT:
        yield At(("sanctions",), f"{kept} facts to keep per citizen of what they met (3, a bit"
                                 " per attempt that a sanction blocks and per reward, two per"
                                 " sanction that children or a household bear); at most"
                                 f" {MAX_KEPT}")


def _lists(sc: Scenario) -> Iterator[At]:
    """The scheme's own lists: how many, their names, and rules that can happen."""
    if len(sc.lists) > MAX_LISTS:
        yield At(("lists",), f"{len(sc.lists)} lists; at most {MAX_LISTS} (a citizen's lists are"
                             " a bit each of a 16-bit word)")
    taken = {**dict.fromkeys(sc.acts, "an act"), **dict.fromkeys(LIST_NAMES, "a process list"),
             **{s.name: "a sanction" for s in sc.sanctions},
             **{r.name: "a reward" for r in sc.rewards}}
    for name, item in sc.lists.items():
        if name in taken:
            yield At(("lists", name), f"the list name {name!r} is {taken[name]}'s; give the list"
                                      " a name of its own")
        yield from _entry_rules(sc, name, item)
        yield from _exit_rules(sc, name, item)


def _kind(sc: Scenario, loc: tuple, kind: str) -> Iterator[At]:
    """A record kind that a list's rule names: one there is, and one that is ever recorded."""
    kinds = record_kinds(sc)
    if kind not in kinds:
        yield At(loc, _unknown("record kind", kind, kinds, "record kinds (acts and records of"
                                                          " processes)"))
    elif kind not in recorded_kinds(sc):
        yield At(loc, f"nothing ever records {kind!r}: its act has channel = \"none\" and no"
                      " channel's false records claim it; the kinds recorded are:"
                      f" {_listed(recorded_kinds(sc))}")


def _entry_rules(sc: Scenario, name: str, item) -> Iterator[At]:
    grades = [g.name for g in sc.scoring.grades]
    for i, rule in enumerate(item.entry):
        loc = ("lists", name, "entry", i)
        if rule.record is not None:
            yield from _kind(sc, (*loc, "record"), rule.record)
        for grade in rule.grades or ():
            if grade not in grades:
                yield At((*loc, "grades"), _unknown("grade", grade, grades, "grades of scoring"))


def _exit_rules(sc: Scenario, name: str, item) -> Iterator[At]:
    """Exit rules that can happen: within the score's range, of a kind recorded, leaving grades
    that a rule entered by."""
    lo, hi = sc.scoring.min, sc.scoring.max
    for i, rule in enumerate(item.exit):
        loc = ("lists", name, "exit", i)
        if rule.score_above is not None and rule.score_above >= hi:
            yield At((*loc, "score_above"), f"score_above = {rule.score_above} can never happen:"
                                            f" scores are at most scoring.max = {hi}")
        if rule.score_below is not None and rule.score_below <= lo:
            yield At((*loc, "score_below"), f"score_below = {rule.score_below} can never happen:"
                                            f" scores are at least scoring.min = {lo}")
        if rule.record is not None:
            yield from _kind(sc, (*loc, "record"), rule.record)
        if rule.left_grades and not any(r.grades for r in item.entry):
            yield At((*loc, "left_grades"), "left_grades can never happen: no entry rule of"
                                            f" {name} enters by grades")


def _list_users(sc: Scenario) -> Iterator[At]:
    """The lists that sanctions and the bad-company term (process lists or black ones) and
    rewards (red ones) name."""
    black = [*LIST_NAMES, *(n for n, x in sc.lists.items() if x.colour == "black")]
    red = [n for n, x in sc.lists.items() if x.colour == "red"]
    company = sc.scoring.bad_company
    users = [(("sanctions", i), item.lists, black, "black", "sanctions")
             for i, item in enumerate(sc.sanctions)]
    users += [(("rewards", i), item.lists, red, "red", "rewards")
              for i, item in enumerate(sc.rewards)]
    if company is not None:
        users.append((("scoring", "bad_company"), company.lists, black, "black", "bad_company"))
    for loc, lists, allowed, kind, who in users:
        for k, name in enumerate(lists):
            if name in sc.lists and name not in allowed:
                yield At((*loc, "lists", k), f"{name!r} is a {sc.lists[name].colour} list and"
                                             f" {who} name {kind} lists; the {kind} lists are:"
                                             f" {_listed(allowed)}")
            elif name not in allowed:
                yield At((*loc, "lists", k), _unknown("list", name, allowed, f"{kind} lists"))


def _score_thresholds(sc: Scenario) -> Iterator[At]:
    """Sanctions' ``score_below`` and rewards' ``score_above``: scores some citizen can be
    beyond, and few enough distinct ones for the engine's table of where measures change."""
    lo, hi = sc.scoring.min, sc.scoring.max
    found = set()
    for table, items, field in (("sanctions", sc.sanctions, "score_below"),
                                ("rewards", sc.rewards, "score_above")):
        for i, item in enumerate(items):
            value = getattr(item, field)
            if value is None:
                continue
            found.add(value + (field == "score_above"))
            if not (lo < value <= hi if field == "score_below" else lo <= value < hi):
                yield At((table, i, field), f"{field} = {value} can hit no one: scores run from"
                                            f" scoring.min {lo} to scoring.max {hi}")
    if len(found) > MAX_SCORE_THRESHOLDS:
        yield At(("sanctions",), f"{len(found)} distinct scores in sanctions' score_below and"
                                 f" rewards' score_above; at most {MAX_SCORE_THRESHOLDS}")


def _kept_per_citizen(sc: Scenario) -> int:
    """The bits of what a citizen has met (world.layout.history_names)."""
    blocked = {a for s in sc.sanctions for a in s.blocks if a not in STANDINGS}
    kids = sum(s.bears != "person" for s in sc.sanctions)
    return 3 + len(blocked) + len(sc.rewards) + 2 * kids


def _targets(sc: Scenario, loc: tuple, item, tries: list[str], standings: tuple
             ) -> Iterator[At]:
    """What one sanction blocks or one reward grants: attempts (and standings for a sanction)."""
    verb = loc[-1]
    allowed = [*tries, *standings]
    what = "attempts (acts of nature attempt)" + (" and standings" if standings else "")
    names = getattr(item, verb)
    if not names:
        yield At(loc, f"{item.name} {verb} nothing; the {what} are: {_listed(allowed)}")
    for name in names:
        if name in sc.acts and name not in tries:
            yield At(loc, f"{name!r} is an act of nature {sc.acts[name].nature}, not an attempt;"
                          f" the {what} are: {_listed(allowed)}")
        elif name not in allowed:
            yield At(loc, _unknown("attempt", name, allowed, what))
        elif name in standings and item.bears != "person":
            yield At(loc, f"{item.name} bears = \"{item.bears}\" but blocks the standing"
                          f" {name!r}; a standing is the person's own")


def own_domain(sc: Scenario) -> None:
    """Under sanction_scope = "own_domain": each sanction only from lists of the domain of
    everything it blocks, and never from a grade or a score."""
    for i, s in enumerate(sc.sanctions):
        allowed = set.intersection(*(set(OWN_DOMAIN_LISTS.get(b, ())) for b in s.blocks))
        score = [f"score_below {s.score_below}"] if s.score_below is not None else []
        if s.grades or score or set(s.lists) - allowed:
            raise At(("sanctions", i), f"under sanction_scope 'own_domain' {s.name}, which"
                                       f" blocks {', '.join(s.blocks)}, may be triggered only by"
                                       f" the list(s) {sorted(allowed)}, not by"
                                       f" {s.lists + s.grades + score}")


def warnings(sc: Scenario) -> list[str]:
    """What the catalog declares that the run will never use, as one-line warnings."""
    used = {a for s in sc.sanctions for a in s.blocks} | {a for r in sc.rewards for a in r.grants}
    idle = [a for a in attempts(sc) if a not in used]
    named = {n for m in (*sc.sanctions, *sc.rewards) for n in m.lists}
    unused = [n for n in sc.lists if n not in named]
    found = ((idle, "attempt act(s) {} meet no sanction and no reward: they are counted, never"
                    " refused or favoured"),
             (unused, "list(s) {} put no sanction or reward in force: their members are"
                      " counted, nothing more"))
    return [f"{sc.name}: " + text.format(_listed(names)) for names, text in found if names]
