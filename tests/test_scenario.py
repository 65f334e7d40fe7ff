"""Scenario files: malformed ones get one clear message, presets extend and round-trip, presets
cite."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from panopticon.language import scenario
from panopticon.language.scenario import PRESETS, ScenarioError, load, validate

PRESET_DIR = Path(scenario.__file__).parents[1] / "presets"
EXTENDS = 'extends = "china-2018"\n'
REPLACE_GRADES = EXTENDS + 'replace = ["scoring.grades"]\n'


def _write(tmp_path: Path, content: str | bytes, name: str = "user.toml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _error(path: Path | str) -> str:
    with pytest.raises(ScenarioError) as info:
        load(path)
    # Raised "from None" where raised while handling another error: no chained traceback to print.
    err = info.value
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return str(info.value)


# Each case: the file's text (appended to `extends = "china-2018"` unless it is a whole file) and
# fragments the message must hold: the dotted field, the offending value, what is allowed.
MALFORMED = [
    pytest.param(
        EXTENDS + '[population]\nsize = "many"\n',
        ["field 'population.size'", "'many'", "an integer from 1 to 2_000_000_000"],
        id="wrong-type",
    ),
    pytest.param(
        EXTENDS + "[court]\ngrace_dayz = 60\n",
        ["field 'court.grace_dayz'", "unknown field", "grace_days", "listing_days"],
        id="unknown-field",
    ),
    pytest.param(
        EXTENDS + "[sensing.cameras]\nlenses = 3\n",
        ["field 'sensing.cameras.lenses'", "unknown field", "view_factor"],
        id="unknown-nested-field",
    ),
    pytest.param(
        EXTENDS + "[acts.jaywalking]\nrate = -0.1\n",
        ["field 'acts.jaywalking.rate'", "-0.1", "a number from 0 to 1 (a daily probability"],
        id="negative-rate",
    ),
    pytest.param(
        EXTENDS + "[channels.cameras]\nhit = 1.5\n",
        ["field 'channels.cameras.hit'", "1.5", "a number from 0 to 1"],
        id="probability-above-1",
    ),
    pytest.param(
        EXTENDS + '[sensing.cameras.region_density]\n"110000" = 0\n',
        ["field 'sensing.cameras.region_density.110000'", "value 0 ", "a number > 0"],
        id="zero-density",
    ),
    pytest.param(
        EXTENDS + "[acts.Littering]\nrate = 0.01\n",
        ["field 'acts.Littering'", "the name 'Littering' is not allowed", "lower-case letters"],
        id="act-name-not-allowed",
    ),
    pytest.param(
        EXTENDS + '[acts.jaywalking]\nwho = "aliens"\n',
        ["field 'acts.jaywalking.who'", "'aliens'", "one of 'adults', 'children', 'everyone'",
         "or a table of traits"],
        id="unknown-who",
    ),
    pytest.param(
        EXTENDS + "[scoring.points]\nlittering = -5\n",
        ["field 'scoring.points.littering'", "unknown record kind 'littering'", "jaywalking",
         "judgment_unpaid, content_flag, tax_listed"],
        id="unknown-record-kind",
    ),
    pytest.param(
        EXTENDS + "[population]\ninternet_users = [\n"
        "  { date = 2018-01-01, value = 1 },\n  { date = 2017-01-01, value = 2 },\n]\n",
        ["field 'population.internet_users'", "2017-01-01", "2018-01-01", "must increase"],
        id="dates-out-of-order",
    ),
    pytest.param(
        EXTENDS + "end = 2010-01-01\n",
        ["field 'end'", "2010-01-01", "before start 2014-01-01"],
        id="end-before-start",
    ),
    pytest.param(
        EXTENDS + 'start = "yesterday"\n',
        ["field 'start'", "'yesterday'", "a date from 2000-01-01 to 2060-12-31"],
        id="not-a-date",
    ),
    pytest.param(
        "",
        ["the file has no settings", 'extends = "china-2018"'],
        id="empty-file",
    ),
    pytest.param(
        "# only a comment\n\n",
        ["the file has no settings", 'extends = "china-2018"'],
        id="comments-only",
    ),
    pytest.param(
        "<html><body>not a scenario</body></html>\n",
        ["not valid TOML", "line 1"],
        id="not-toml",
    ),
    pytest.param(
        'name = "caf\xe9"\n'.encode("utf-8") + 'description = "caf\xe9"\n'.encode("latin-1"),
        ["line 2", "0xe9", "UTF-8"],
        id="not-utf8",
    ),
    pytest.param(
        REPLACE_GRADES + "[scoring]\ngrades = [\n"
        '  { name = "A", min = 0, max = 700 },\n  { name = "B", min = 600, max = 1300 },\n]\n',
        ["field 'scoring.grades'", "A [0, 700]", "B [600, 1300]", "overlap"],
        id="overlapping-grades",
    ),
    pytest.param(
        REPLACE_GRADES + "[scoring]\ngrades = [\n"
        '  { name = "A", min = 0, max = 500 },\n  { name = "B", min = 600, max = 1300 },\n]\n',
        ["field 'scoring.grades'", "no grade covers scores 501 to 599"],
        id="grade-gap",
    ),
    pytest.param(
        REPLACE_GRADES + '[scoring]\ngrades = [{ name = "A", min = 1300, max = 0 }]\n',
        ["field 'scoring.grades.0.min'", "min 1300 is above max 0"],
        id="grade-min-above-max",
    ),
    pytest.param(
        EXTENDS + "[scoring]\nbase = 5000\n",
        ["field 'scoring.base'", "5000", "within [min 0, max 1300]"],
        id="base-outside-range",
    ),
    pytest.param(
        EXTENDS + 'replace = ["sanctions"]\n[[sanctions]]\nname = "plane_ban"\n'
        'blocks = ["plane_ticket"]\n',
        ["field 'sanctions.0", "plane_ban", "no grade, no list and no score_below"],
        id="sanction-hits-no-one",
    ),
    pytest.param(
        EXTENDS + '[[sanctions]]\nname = "plane_ban"\ngrades = ["Z"]\n',
        ["['Z']", "grades are ['A', 'AA', 'AAA', 'B', 'C', 'D']"],
        id="sanction-unknown-grade",
    ),
    pytest.param(
        EXTENDS + '[[sanctions]]\nname = "public_shaming"\nlists = ["court"]\n'
        'blocks = ["stocks"]\n',
        ["field 'sanctions.0.blocks'", "unknown attempt 'stocks'", "plane_ticket",
         "management_role, internet"],
        id="sanction-blocks-an-unknown-attempt",
    ),
    pytest.param(
        EXTENDS + '[[sanctions]]\nname = "plane_ban"\nlists = ["gossip"]\n',
        ["field 'sanctions.0.lists.0'", "'gossip'", "the black lists are: court, tax,"
                                                       " travel_misconduct"],
        id="unknown-list",
    ),
    pytest.param(
        'extends = "usa-2030"\n',
        ["field 'extends'", "'usa-2030'", "no such preset or file; presets are: china-2018"],
        id="unknown-preset",
    ),
    pytest.param(
        "extends = 3\n",
        ["field 'extends'", "value 3 ", "a preset (china-2018", "or the path of a scenario file"],
        id="extends-not-a-string",
    ),
    pytest.param(
        EXTENDS + 'court = "strict"\n',
        ["field 'court'", "'strict'", "a table with fields", "grace_days"],
        id="string-for-table",
    ),
    pytest.param(
        EXTENDS + 'sanctions = "all"\n',
        ["field 'sanctions'", "'all'", "an array, each item a table with fields bears, blocks"],
        id="string-for-array",
    ),
    pytest.param(
        EXTENDS + "seed = 1.5\n",
        ["field 'seed'", "1.5", "an integer"],
        id="float-for-integer",
    ),
    pytest.param(
        EXTENDS + '[population.age_shares]\n"60+" = 0.5\n',
        ["field 'population.age_shares'", "1.313", "must add up to 1"],
        id="age-shares-not-summing-to-1",
    ),
    pytest.param(
        EXTENDS + '[population.age_shares]\n"15-30" = 0.1\n',
        ["field 'population.age_shares.15-30'", "unknown field", "0-14, 15-29, 30-44, 45-59, 60+"],
        id="unknown-age-band",
    ),
    pytest.param(
        EXTENDS + '[acts.online_post]\nrate = 0.5\nwho = "internet_users"\n',
        ["acts.online_post", "per content type in [speech.content]"],
        id="posting-rate-in-acts",
    ),
    pytest.param(
        EXTENDS + "[speech.content.comment]\nrate = 0.9\n",
        ["field 'speech.content'", "add up to 1.1", "at most once a day"],
        id="more-than-one-post-a-day",
    ),
    pytest.param(
        EXTENDS + "[speech.content.tweet]\nrate = 0.1\n",
        ["field 'speech.content.tweet'", "allowed here: article, comment, photo, video"],
        id="unknown-content-type",
    ),
    pytest.param(
        EXTENDS + '[population]\nregions = ["370000", "999999"]\n',
        ["field 'population.regions'", "['999999']", "unknown province code", "370000 (Shandong)"],
        id="unknown-province",
    ),
    pytest.param(
        EXTENDS + '[scoring]\nwho = "volunteers"\n',
        ["field 'scoring.who'", "'volunteers'", "'nobody'", "'payment_users'"],
        id="unknown-scored-group",
    ),
    pytest.param(
        EXTENDS + "[scoring.caps.jaywalking]\npoints = 50\n",
        ["field 'scoring.caps'", "['jaywalking']", "only a kind whose points add"],
        id="cap-on-a-deduction",
    ),
    pytest.param(
        EXTENDS + "[scoring.caps.good_deed]\npoints = 0\n",
        ["field 'scoring.caps.good_deed.points'", "value 0 ", "from 1 to 30_000"],
        id="cap-of-zero",
    ),
    pytest.param(
        EXTENDS + '[scoring.caps.good_deed]\npoints = 50\nper = "month"\n',
        ["field 'scoring.caps.good_deed.per'", "'month'", "one of 'total', 'year'"],
        id="cap-per-month",
    ),
    pytest.param(
        EXTENDS + "[scoring]\nfactors = [\n"
        '  { name = "a", weight = 0.5, kinds = ["jaywalking", "red_light", "late_bill",'
        ' "bad_spending", "debt_default", "judgment_unpaid", "tax_arrears", "content_flag",'
        ' "good_deed", "onboard_misconduct", "tax_listed"] },\n'
        '  { name = "b", weight = 0.4 },\n]\n',
        ["field 'scoring.factors'", "weights must add up to 1", "0.900000"],
        id="factor-weights-not-summing-to-1",
    ),
    pytest.param(
        EXTENDS + "[scoring]\nfactors = [\n"
        '  { name = "a", weight = 0.5, kinds = ["late_bill"] },\n'
        '  { name = "b", weight = 0.5, kinds = ["late_bill"] },\n]\n',
        ["field 'scoring.factors'", "['late_bill'] more than once"],
        id="kind-in-two-factors",
    ),
    pytest.param(
        EXTENDS + '[scoring]\nfactors = [{ name = "a", weight = 1.0, kinds = ["late_bill"] }]\n',
        ["field 'scoring.factors'", "leave out", "'jaywalking'", "put each in one factor"],
        id="kind-in-no-factor",
    ),
    pytest.param(
        EXTENDS + 'sanction_scope = "own_domain"\n',
        ["field 'sanctions.0'", "plane_ban, which blocks plane_ticket",
         "only by the list(s) ['travel_misconduct']", "not by ['court', 'travel_misconduct', 'D']"],
        id="own-domain-sanction-from-another-domain",
    ),
    pytest.param(
        'extends = "eu-baseline"\n[scoring.bad_company]\nenabled = true\n',
        ["field 'sanction_scope'", "no score that travels", "scoring.bad_company"],
        id="own-domain-with-a-ties-term",
    ),
    pytest.param(
        'extends = "eu-baseline"\n[[rewards]]\nname = "easy_credit"\ngrades = ["AAA"]\n'
        'grants = ["credit_application"]\n',
        ["field 'sanction_scope'", "no rewards"],
        id="own-domain-with-rewards",
    ),
    pytest.param(
        'extends = "eu-baseline"\n[[sanctions]]\nname = "exit_ban"\nlists = ["tax"]\n'
        'blocks = ["credit_application"]\n',
        ["field 'sanctions.0'", "exit_ban, which blocks credit_application",
         "only by the list(s) ['court']"],
        id="own-domain-exit-ban-for-tax",
    ),
]


@pytest.mark.parametrize(("content", "fragments"), MALFORMED)
def test_malformed_file_gets_one_clear_message(tmp_path, content, fragments):
    path = _write(tmp_path, content)
    message = _error(path)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message and "pydantic" not in message
    assert len(message.splitlines()) == 1, "one broken thing, one line"


def test_unknown_grade_names_the_sanction_field(tmp_path):
    path = _write(tmp_path, EXTENDS + '[[sanctions]]\nname = "plane_ban"\ngrades = ["Z"]\n')
    assert "field 'sanctions.0.grades'" in _error(path)


def test_each_problem_gets_its_own_line(tmp_path):
    path = _write(
        tmp_path,
        EXTENDS + "[sensing]\nface_hit_rate = 2.0\n[court]\ngrace_days = -1\ngrace_dayz = 1\n",
    )
    header, *problems = _error(path).splitlines()
    assert header == f"{path}: 3 problems in the scenario"
    assert sorted(p.split("'")[1] for p in problems) == [
        "court.grace_days", "court.grace_dayz", "sensing.face_hit_rate",
    ]


def test_a_file_that_extends_nothing_lists_every_missing_table(tmp_path):
    path = _write(tmp_path, 'name = "bare"\nstart = 2014-01-01\nend = 2015-01-01\n')
    message = _error(path)
    for table in ("population", "court", "tax", "sensing", "registry", "scoring"):
        assert f"field '{table}': required but missing; it must be a table" in message
    assert "field 'acts'" not in message  # no acts: nobody does anything a scheme records


@pytest.mark.parametrize("source", ["no-such-preset", "missing.toml"])
def test_unknown_name_or_path(tmp_path, monkeypatch, source):
    monkeypatch.chdir(tmp_path)
    message = _error(source)
    assert message == f"{source}: no such preset or file; presets are: {', '.join(PRESETS)}"


def test_a_folder_is_named_as_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _error(".") == ".: is a folder; give a scenario file or a preset name"


def test_preset_loads_by_name():
    s = load("china-2018")
    assert s.name == "china-2018"
    assert s.acts["jaywalking"].rate == 0.004


def test_override_of_a_nested_field_changes_only_that_field(tmp_path):
    path = _write(tmp_path, EXTENDS + "[acts.jaywalking]\nrate = 0.01\n")
    expected = load("china-2018").model_dump()
    expected["acts"]["jaywalking"]["rate"] = 0.01
    expected["name"] = "china-2018-extended"  # a file that names nothing is not the preset
    assert load(path).model_dump() == expected


def test_an_array_given_whole_replaces_the_inherited_one(tmp_path):
    """Arrays of plain values and of unnamed tables always; a named array if `replace` says so."""
    path = _write(
        tmp_path,
        EXTENDS + 'replace = ["sanctions"]\n[[sanctions]]\nname = "exit_ban"\nlists = ["tax"]\n'
        'blocks = ["trip_abroad"]\n[population]\n'
        'internet_users = [{ date = 2014-01-01, value = 1 }]\n',
    )
    s = load(path)
    assert [(x.name, x.lists) for x in s.sanctions] == [("exit_ban", ["tax"])]
    assert [p.value for p in s.population.internet_users] == [1]
    assert s.population.payment_users == load("china-2018").population.payment_users


def test_resolved_scenario_round_trips_through_toml(tmp_path):
    s = load(_write(tmp_path, EXTENDS + 'name = "mine"\nseed = 7\n[acts.red_light]\n'
                    'rate = 0.002\n'))
    text = s.to_toml()
    assert "extends" not in text
    assert validate(tomllib.loads(text), "round trip") == s
    assert load(_write(tmp_path, text, "resolved.toml")) == s


def test_with_changes_replaces_dotted_fields_and_validates():
    s = load("china-2018")
    changed = s.with_changes(**{"population.size": 5000, "seed": 9})
    assert (changed.population.size, changed.seed) == (5000, 9)
    assert s.population.size == 1_410_000
    assert changed.model_dump(exclude={"population": {"size"}, "seed": True}) == s.model_dump(
        exclude={"population": {"size"}, "seed": True}
    )
    with pytest.raises(ScenarioError) as info:
        s.with_changes(**{"channels.cameras.hit": 1.5})
    assert str(info.value) == ("china-2018 (changed channels.cameras.hit): field"
                               " 'channels.cameras.hit': value 1.5 is not allowed; it must be a"
                               " number from 0 to 1")


# Every number in a preset cites its source or is marked an assumption: in the preset as
# resolved (a preset that extends another inherits its sources with its numbers), and in the
# preset's own file, whose numbers its own [sources] must cover (not the parent's, which
# would cite the value it replaced).

SOURCE_KINDS = ("data:", "seed article", "assumption")


def _paths(node, prefix: str = ""):
    """(dotted path, value) of every table, array and leaf under node; array indices are parts."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = f"{prefix}{key}"
        yield path, value
        if isinstance(value, (dict, list)):
            yield from _paths(value, path + ".")


def _numbers(data: dict) -> list[str]:
    return [p for p, v in _paths(data) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _uncited(paths: list[str], sources: dict[str, str]) -> list[str]:
    return [p for p in paths if not any(p == k or p.startswith(k + ".") for k in sources)]


def _preset(name: str, resolved: bool) -> tuple[dict, dict[str, str]]:
    data = tomllib.loads(scenario.preset_text(name))
    if resolved:
        data = scenario.resolve(name).data
    data.pop("extends", None)
    return data, data.pop("sources", {})


def test_a_posted_content_type_needs_a_review():
    review = {"comment": {"precision": 0.7, "recall": 0.6}}
    with pytest.raises(scenario.ScenarioError, match=r"content_review has no entry for \['article',"
                                                      r" 'photo', 'video'\]"):
        scenario.load("china-2018").with_changes(**{"sensing.content_review": review})


def test_every_preset_file_is_registered_and_loads():
    assert sorted(f.stem for f in PRESET_DIR.glob("*.toml")) == sorted(PRESETS)
    for name in PRESETS:
        load(name)


@pytest.mark.parametrize("name", PRESETS)
def test_every_number_in_a_preset_cites_a_source(name):
    data, sources = _preset(name, resolved=True)
    assert _numbers(data)
    assert _uncited(_numbers(data), sources) == []
    own, own_sources = _preset(name, resolved=False)
    assert _uncited(_numbers(own), own_sources) == []


@pytest.mark.parametrize("name", PRESETS)
def test_every_source_is_data_the_seed_article_or_an_assumption(name):
    _, sources = _preset(name, resolved=True)
    assert {k: v for k, v in sources.items() if not v.startswith(SOURCE_KINDS)} == {}


@pytest.mark.parametrize("name", PRESETS)
def test_every_source_names_a_field_of_the_preset(name):
    """A mistyped key would leave its citation attached to nothing, hidden by a parent's."""
    data, sources = _preset(name, resolved=True)
    assert sorted(set(sources) - {p for p, _ in _paths(data)}) == []


def test_an_own_number_cited_only_by_the_parent_is_uncited():
    """The own-file check can fail: a preset's new value under the parent's citation."""
    own = tomllib.loads('extends = "china-2018"\n[scoring]\nbase = 600\n')
    _, parent_sources = _preset("china-2018", resolved=True)
    assert _uncited(_numbers(own), {}) == ["scoring.base"]
    assert _uncited(_numbers(own), parent_sources) == []


def _nested(depth: int, table: bool):
    value = 1
    for _ in range(depth):
        value = {"a": value} if table else [value]
    return value


@pytest.mark.parametrize("table", [False, True], ids=["array", "table"])
def test_data_nested_thousands_deep_gets_one_line(table):
    """validate() is public (a dashboard may pass JSON): input deeper than TOML allows reaches
    pydantic and the message, and still ends in one line."""
    data = tomllib.loads(scenario.preset_text("china-2018"))
    data["population"]["regions"] = _nested(5000, table)
    with pytest.raises(ScenarioError) as info:
        validate(data, "deep")
    assert str(info.value).startswith("deep: field 'population.regions")
    assert len(str(info.value).splitlines()) == 1


def test_a_byte_order_mark_is_read_past(tmp_path):
    path = _write(tmp_path, b"\xef\xbb\xbf" + EXTENDS.encode() + b"seed = 5\n")
    assert load(path).seed == 5


@pytest.mark.parametrize(("content", "expected"), [
    ("[acts.jaywalking]\nrate = 1\n", 1.0),  # a TOML integer is a number
    ("[population]\nscale = 500\n", 500.0),
])
def test_an_integer_is_a_number(tmp_path, content, expected):
    sc = load(_write(tmp_path, EXTENDS + content))
    assert expected in (sc.acts["jaywalking"].rate, sc.population.scale)


def test_a_run_within_its_dated_series_has_no_warning():
    sc = load("china-2018")
    assert sc.warnings() == []
    before = sc.with_changes(start=scenario.FIRST_DATE)
    assert before.warnings() == [
        f"china-2018: the run (2000-01-01 to {sc.end}) starts more than a year before"
        " population.internet_users (from 2014-01-01), population.payment_users (from"
        " 2014-01-01), sensing.cameras.count (from 2014-01-01), registry.central_connected"
        " (from 2014-01-01): their first values are held flat"]


def test_days_of_the_longest_run_and_case_fit_the_registry_arrays():
    """The registry keeps days as int16: the last day of the longest run plus the longest
    case must fit."""
    import numpy as np

    assert scenario.MAX_RUN_DAYS - 1 + scenario.MAX_DAYS <= np.iinfo(np.int16).max


def test_many_problems_are_listed_up_to_a_limit(tmp_path):
    lines = "".join(f"bogus_{i} = {i}\n" for i in range(30))
    header, *problems = _error(_write(tmp_path, EXTENDS + "[court]\n" + lines)).splitlines()
    assert header.endswith(": 30 problems in the scenario")
    assert len(problems) == scenario.MAX_PROBLEMS + 1
    assert problems[-1] == f"  ... and {30 - scenario.MAX_PROBLEMS} more"
