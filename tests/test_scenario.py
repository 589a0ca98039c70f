"""Scenario files: defaults, validation errors that name the field, overrides, documentation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from arsim.errors import InputError
from arsim.scenario.files import load_policy, load_scenario
from arsim.scenario.reference import field_reference
from arsim.scenario.schema import Scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_a_valid_scenario():
    scenario = Scenario()
    assert scenario.portfolio.segments[0].name == "all"
    assert scenario.cadence_for("all")[0].day == -5


@pytest.mark.parametrize("name", ["baseline", "smb", "enterprise"])
def test_shipped_scenarios_load(name):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert scenario.name == name


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"team": {"collectors": 3, "colectors": 4}}, "x.yaml: team.colectors: unknown field"),
        ({"portfolio": {"segments": [{"name": "a", "contact_response": {"channels": {"email": {"query_probability": 1.3}}}}]}},
         "x.yaml: portfolio.segments.0.contact_response.channels.email.query_probability: Input should be less than or equal to 1"),
        ({"policy": {"dunning": {"steps": [{"day": 3, "channel": "fax"}]}}}, "x.yaml: policy.dunning.steps.0.channel: Input should be"),
        ({"policy": {"dunning": {"by_segment": {"nobody": []}}}}, "policy.dunning.by_segment: unknown segment(s) ['nobody']"),
        ({"policy": {"worklist_rule": "loudest_first"}}, "x.yaml: policy.worklist_rule: Input should be"),
        ({"team": {"hours_per_day": 8, "shift_start_hour": 20}}, "x.yaml: team: shift_start_hour + hours_per_day must not pass midnight"),
        ({"portfolio": {"segments": [{"name": "a", "contact_response": {"channels": {"call": {"query_probability": 0.6, "promise_probability": 0.6}}}}]}},
         "x.yaml: portfolio.segments.0.contact_response.channels.call: query + promise + dispute probabilities sum to 1.230 > 1"),
        ({"run": {"horizon_days": 0}}, "x.yaml: run.horizon_days: Input should be greater than 0"),
        ({"portfolio": {"segments": [{"name": "a"}, {"name": "a"}]}}, "segment names must be unique"),
        ([1, 2], "x.yaml: a scenario must be a mapping of fields, got list"),
    ],
)
def test_validation_errors_are_one_line_and_name_the_field(data, expected):
    with pytest.raises(InputError) as error:
        validate_scenario(data, source="x.yaml")
    message = str(error.value)
    assert "\n" not in message
    assert expected in message


def test_yaml_syntax_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("team:\n  collectors: [3\n")
    with pytest.raises(InputError, match=r"bad.yaml: line \d+: invalid YAML"):
        load_scenario(path)
    with pytest.raises(InputError, match="missing.yaml: file not found"):
        load_scenario(tmp_path / "missing.yaml")


def test_overrides_by_path_index_and_segment_name():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    changed = scenario.with_overrides({"team.collectors": 5, "portfolio.segments.prompt.customers": 10, "portfolio.segments.1.terms_days": 45})
    assert changed.team.collectors == 5
    assert changed.portfolio.segments[0].customers == 10
    assert changed.portfolio.segments[1].terms_days == 45
    assert scenario.team.collectors == 3  # the original is untouched (frozen)
    with pytest.raises(InputError, match="assignments: team.colectors: unknown field 'colectors'"):
        scenario.with_overrides({"team.colectors": 5})
    with pytest.raises(InputError, match="assignments: portfolio.segments.nobody: no list item 'nobody'"):
        scenario.with_overrides({"portfolio.segments.nobody.customers": 5})
    with pytest.raises(InputError, match="assignments: team.collectors: expected a number, got the text 'many'"):
        scenario.with_overrides({"team.collectors": "many"})
    with pytest.raises(InputError, match="assignments: team.collectors: Input should be a valid integer, got a number with a fractional part"):
        scenario.with_overrides({"team.collectors": 2.5})


def test_setting_one_channel_field_keeps_that_channels_other_defaults():
    scenario = validate_scenario({"portfolio": {"segments": [{"name": "a", "contact_response": {"channels": {"call": {"query_probability": 0.2}}}}]}})
    call = scenario.portfolio.segments[0].contact_response.channels["call"]
    assert call.query_probability == 0.2
    assert call.reach_probability == Scenario().portfolio.segments[0].contact_response.channels["call"].reach_probability == 0.35


def test_models_are_frozen():
    scenario = Scenario()
    with pytest.raises(ValidationError, match="frozen"):
        scenario.team.collectors = 9  # type: ignore[misc]


def test_a_policy_file_replaces_the_policy(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("name: strict\ndunning:\n  min_days_between_contacts: 7\n")
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", policy=policy)
    assert scenario.policy.name == "strict"
    assert scenario.policy.dunning.min_days_between_contacts == 7
    assert load_policy(policy).name == "strict"
    policy.write_text("name: strict\ndunning:\n  by_segment:\n    nobody: []\n")
    with pytest.raises(InputError, match="unknown segment"):
        load_scenario(ROOT / "scenarios" / "baseline.yaml", policy=policy)


def test_every_field_is_documented():
    text = (ROOT / "docs" / "scenario.md").read_text()
    missing = [row["path"] for row in field_reference() if f"`{row['path']}`" not in text]
    assert not missing, f"fields missing from docs/scenario.md (regenerate with `arsim fields --markdown`): {missing}"
    undescribed = [row["path"] for row in field_reference() if not row["description"]]
    assert not undescribed


# ---------------------------------------------------------------------------------------------- load-time checks
# Each check names the source, the field path and the problem on one line (the CLI prints it and exits 2).


def _problem(data, source: str = "x.yaml") -> str:
    with pytest.raises(InputError) as error:
        validate_scenario(data, source=source)
    message = str(error.value)
    assert "\n" not in message
    return message


def _file_problem(path: Path, text: str) -> str:
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_scenario(path)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"team": {"hours_per_day": float("nan")}}, "x.yaml: team.hours_per_day: must be a finite number, got nan"),
        ({"run": {"horizon_days": float("inf")}}, "x.yaml: run.horizon_days: must be a finite number, got inf"),
        ({"money": {"contact_cost": {"email": float("-inf")}}}, "x.yaml: money.contact_cost.email: must be a finite number, got -inf"),
        ({"policy": {"dunning": {"volume": {"call": float("nan")}}}}, "x.yaml: policy.dunning.volume.call: must be a finite number, got nan"),
        ({"team": {"dispute_external_days": {"dist": "exponential", "mean": float("inf")}}},
         "x.yaml: team.dispute_external_days.mean: must be a finite number, got inf"),
        ({"policy": {"credit": {"hold_days_past_due": float("nan")}}}, "x.yaml: policy.credit.hold_days_past_due: must be a finite number, got nan"),
        ({"team": {"hours_per_day": "nan"}}, "x.yaml: team.hours_per_day: expected a number, got the text 'nan'"),
        ({"portfolio": {"segments": [{"name": "a", "amount": {"dist": "lognormal", "median": "inf", "sigma": 1}}]}},
         "x.yaml: portfolio.segments.0.amount.median: expected a number, got the text 'inf'"),
    ],
)
def test_nan_and_infinity_are_refused_anywhere(data, expected):
    assert _problem(data) == expected


def test_nan_and_infinity_in_a_yaml_file_name_the_field(tmp_path):
    path = tmp_path / "base.yaml"
    assert _file_problem(path, "policy:\n  discount: {percent: .nan}\n") == f"{path}: policy.discount.percent: must be a finite number, got nan"
    assert _file_problem(path, "team:\n  hours_per_day: .inf\n") == f"{path}: team.hours_per_day: must be a finite number, got inf"
    assert _file_problem(path, "team:\n  hours_per_day: -.inf\n") == f"{path}: team.hours_per_day: must be a finite number, got -inf"


def test_nan_in_a_set_value_is_refused():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(InputError) as error:
        scenario.with_overrides({"team.hours_per_day": float("nan")})
    assert str(error.value) == "assignments: team.hours_per_day: must be a finite number, got nan"
    with pytest.raises(InputError) as error:
        scenario.with_overrides({"portfolio.segments.prompt.invoices_per_month": float("inf")})
    assert str(error.value) == "assignments: portfolio.segments.0.invoices_per_month: must be a finite number, got inf"


def test_a_key_stated_twice_in_a_mapping_is_refused_with_its_line(tmp_path):
    path = tmp_path / "base.yaml"
    text = "name: twice\nteam:\n  collectors: 3\n  hours_per_day: 7\n  collectors: 5\n"
    assert _file_problem(path, text) == f"{path}: line 5: duplicate key 'collectors' in a mapping"
    assert _file_problem(path, "name: a\nrun: {seed: 1, seed: 2}\n") == f"{path}: line 2: duplicate key 'seed' in a mapping"
    assert _file_problem(path, "name: a\nname: b\n") == f"{path}: line 2: duplicate key 'name' in a mapping"
    # The same key in different mappings, and a key that overrides a merged one, are fine.
    path.write_text("team:\n  <<: {collectors: 3, hours_per_day: 7}\n  collectors: 4\nrun: {seed: 1}\nmoney: {gross_margin: 0.2}\n")
    assert load_scenario(path).team.collectors == 4


def test_a_policy_file_with_a_key_stated_twice_is_refused(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("name: strict\ndunning:\n  min_days_between_contacts: 7\n  min_days_between_contacts: 3\n")
    with pytest.raises(InputError) as error:
        load_policy(path)
    assert str(error.value) == f"{path}: line 4: duplicate key 'min_days_between_contacts' in a mapping"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("team:\n  collectors: true\n", "team.collectors: expected a number, got the yes/no value true"),
        ("policy:\n  discount: {percent: yes}\n", "policy.discount.percent: expected a number, got the yes/no value true"),
        ("run:\n  seed: off\n", "run.seed: expected a number, got the yes/no value false"),
        ("calendar:\n  business_weekdays: [0, true]\n", "calendar.business_weekdays.1: expected a number, got the yes/no value true"),
        ("policy:\n  credit: {limit_months_of_sales: no}\n", "policy.credit.limit_months_of_sales: expected a number, got the yes/no value false"),
        ("team:\n  collectors: '4'\n", "team.collectors: expected a number, got the text '4'"),
        ("portfolio:\n  segments: [{name: a, behaviour: {late_share_normal: '0.3'}}]\n",
         "portfolio.segments.0.behaviour.late_share_normal: expected a number, got the text '0.3'"),
    ],
)
def test_a_boolean_or_text_where_a_number_belongs_is_refused(tmp_path, text, expected):
    path = tmp_path / "base.yaml"
    assert _file_problem(path, text) == f"{path}: {expected}"


def test_a_boolean_in_a_set_value_is_refused():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(InputError) as error:
        scenario.with_overrides({"policy.discount.percent": True})
    assert str(error.value) == "assignments: policy.discount.percent: expected a number, got the yes/no value true"


def test_channel_volume_can_be_set_by_path():
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert scenario.with_overrides({"policy.dunning.volume.call": 2}).policy.dunning.volume == {"call": 2.0}


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"policy": {"dunning": {"steps": [{"day": 7, "channel": "email"}, {"day": 1, "channel": "email"}, {"day": 7, "channel": "call"}]}}},
         "x.yaml: policy.dunning.steps: day 7 has two steps (email and call); give each step its own day"),
        ({"portfolio": {"segments": [{"name": "a"}, {"name": "big"}]},
          "policy": {"dunning": {"by_segment": {"big": [{"day": 3, "channel": "email"}, {"day": 3, "channel": "letter"}]}}}},
         "x.yaml: policy.dunning.by_segment.big: day 3 has two steps (email and letter); give each step its own day"),
    ],
)
def test_two_dunning_steps_on_one_day_are_refused(data, expected):
    assert _problem(data) == expected


def test_cadences_stay_sorted_by_day():
    scenario = validate_scenario({"policy": {"dunning": {"steps": [{"day": 9, "channel": "call"}, {"day": -2, "channel": "email"}]}}})
    assert [step.day for step in scenario.policy.dunning.steps] == [-2, 9]


@pytest.mark.parametrize(
    "credit, expected",
    [
        ({"limit_by_segment": {"a": -1}}, "x.yaml: policy.credit.limit_by_segment.a: Input should be greater than or equal to 0"),
        ({"limit_months_of_sales": -2}, "x.yaml: policy.credit.limit_months_of_sales: Input should be greater than 0"),
        ({"limit_floor_invoices": -5}, "x.yaml: policy.credit.limit_floor_invoices: Input should be greater than or equal to 0"),
    ],
)
def test_negative_credit_limits_are_refused(credit, expected):
    assert _problem({"portfolio": {"segments": [{"name": "a"}]}, "policy": {"credit": credit}}) == expected


def test_a_zero_segment_limit_leaves_the_floor():
    scenario = validate_scenario({"portfolio": {"segments": [{"name": "a"}]}, "policy": {"credit": {"limit_by_segment": {"a": 0}}}})
    assert scenario.policy.credit.limit_by_segment == {"a": 0.0}


ADVICE = "use letters, digits, '-', '_' and '.'"


@pytest.mark.parametrize(
    "name, problem",
    [
        ("../../x", "would leave the results folder"),
        ("a/b", "would leave the results folder"),
        ("a\\b", "would leave the results folder"),
        ("..", "would leave the results folder"),
        (".hidden", "would leave the results folder"),
        ("", "is empty, and the name is the results folder"),
        ("  ", "is empty, and the name is the results folder"),
        ("a\nb", "has a control character, and the name is the results folder"),
        ("a\x00b", "has a control character, and the name is the results folder"),
    ],
)
def test_a_name_that_is_not_one_folder_inside_results_is_refused(name, problem):
    assert _problem({"name": name}) == f"x.yaml: name: {name!r} {problem}; {ADVICE}"


def test_plain_names_are_kept():
    for name in ("baseline", "what-if_2.v3", "Q3 review"):
        assert validate_scenario({"name": name}).name == name


def test_a_portfolio_without_customers_is_refused():
    data = {"portfolio": {"segments": [{"name": "a", "customers": 0}, {"name": "b", "customers": 0}]}}
    assert _problem(data) == "x.yaml: portfolio.segments: every segment has 0 customers; a run needs at least one customer"
    assert validate_scenario({"portfolio": {"segments": [{"name": "a", "customers": 0}, {"name": "b", "customers": 1}]}}).portfolio.segments[1].customers == 1


def test_zero_collectors_are_refused_while_the_policy_plans_calls():
    assert _problem({"team": {"collectors": 0}}) == (
        "x.yaml: team.collectors: 0 collectors, but policy.dunning.steps plans calls (day 7); add collectors or drop the call steps")
    only_big_calls = {
        "portfolio": {"segments": [{"name": "small"}, {"name": "big"}]}, "team": {"collectors": 0},
        "policy": {"dunning": {"steps": [{"day": 1, "channel": "email"}], "by_segment": {"big": [{"day": 5, "channel": "call"}]}}},
    }
    assert _problem(only_big_calls) == (
        "x.yaml: team.collectors: 0 collectors, but policy.dunning.by_segment.big plans calls (day 5); add collectors or drop the call steps")
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(InputError) as error:
        scenario.with_overrides({"team.collectors": 0})
    assert str(error.value) == "assignments: team.collectors: 0 collectors, but policy.dunning.steps plans calls (day 7); add collectors or drop the call steps"


def test_zero_collectors_are_refused_while_broken_promises_need_a_follow_up():
    data = {
        "portfolio": {"segments": [{"name": "a", "contact_response": {"channels": {"email": {"promise_probability": 0.1}}}}]},
        "team": {"collectors": 0}, "policy": {"dunning": {"steps": [{"day": 1, "channel": "email"}]}},
    }
    assert _problem(data) == (
        "x.yaml: team.collectors: 0 collectors, but broken promises after email contacts need a collector's follow-up "
        "(portfolio.segments.a.contact_response.channels.email.promise_probability > 0); add collectors or set it to 0")


def test_zero_collectors_are_allowed_when_no_planned_work_needs_them():
    # Queries and disputes may still arise: they go unanswered (the capacity trap, see test_model).
    for policy in ({"dunning": {"enabled": False}}, {"dunning": {"volume": {"call": 0}}}, {"dunning": {"steps": [{"day": 1, "channel": "email"}]}}):
        assert validate_scenario({"team": {"collectors": 0}, "policy": policy}).team.collectors == 0
    # A segment without customers plans nothing.
    empty_calls = {"portfolio": {"segments": [{"name": "a"}, {"name": "b", "customers": 0}]}, "team": {"collectors": 0},
                   "policy": {"dunning": {"steps": [{"day": 1, "channel": "email"}], "by_segment": {"b": [{"day": 5, "channel": "call"}]}}}}
    assert validate_scenario(empty_calls).team.collectors == 0


def test_cross_field_problems_name_their_field_not_the_top():
    assert _problem({"policy": {"dunning": {"by_segment": {"nobody": []}}}}) == (
        "x.yaml: policy.dunning.by_segment: unknown segment(s) ['nobody']; segments are ['all']")


@pytest.mark.parametrize("name", ["baseline", "smb", "enterprise"])
def test_shipped_scenarios_validate_again_from_their_own_dump(name):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert validate_scenario(scenario.model_dump(mode="json"), source=name) == scenario


@pytest.mark.parametrize("policy", sorted((ROOT / "scenarios" / "policies").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_policies_load_onto_the_baseline(policy):
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", policy=policy)
    assert scenario.policy.name == policy.stem


def test_the_field_reference_is_the_generated_docs():
    from arsim.scenario.reference import field_reference_markdown

    assert (ROOT / "docs" / "scenario.md").read_text(encoding="utf-8") == field_reference_markdown(), (
        "docs/scenario.md is stale: regenerate it with `arsim fields --markdown`")


def test_plan_acceptance_is_the_customers_not_the_policys(tmp_path):
    # A customer's reaction may not sit in the policy, where a search could set it; the old field says where it went.
    path = tmp_path / "old.yaml"
    text = (ROOT / "scenarios/smb.yaml").read_text() + "\n"
    path.write_text(text.replace("policy:\n", "policy:\n  payment_plan: {enabled: true, acceptance_probability: 1.0}\n", 1))
    with pytest.raises(InputError, match="relationship.plan_acceptance_probability"):
        load_scenario(path)
    with pytest.raises(InputError, match="moved to portfolio.segments.NAME.relationship.plan_acceptance_probability"):
        load_scenario(ROOT / "scenarios/smb.yaml").with_overrides({"policy.payment_plan.acceptance_probability": 1})


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("calendar: {start_date: 2025-02-30}\n", 1, "'2025-02-30' is not a valid date: day is out of range for month"),
    ("name: x\nteam:\n  collectors: !!int abc\n", 3, "'abc' is not a valid int"),
    ("money:\n  gross_margin: !!float abc\n", 2, "'abc' is not a valid float"),
    ("calendar: {start_date: !!timestamp 2025-99-99}\n", 1, "'2025-99-99' is not a valid date: month must be in 1..12"),
])
def test_a_value_its_yaml_tag_cannot_hold_is_a_yaml_mistake_at_its_line(tmp_path, text, line, problem):
    """PyYAML raises a plain ValueError for these, from deep inside its constructors; they are the user's mistakes."""
    path = tmp_path / "s.yaml"
    assert _file_problem(path, text).startswith(f"{path}: line {line}: invalid YAML: {problem}")


def test_yaml_nested_too_deep_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    assert _file_problem(path, "description: " + "[" * 5000 + "]" * 5000 + "\n") == f"{path}: invalid YAML: nested too deep to read"


def test_command_line_values_are_read_as_strictly_as_files():
    from arsim.cli.common import parse_assignments, parse_values

    with pytest.raises(InputError, match=r"^--set 'calendar.start_date=2025-02-30': invalid YAML: '2025-02-30' is not a valid date"):
        parse_assignments(["calendar.start_date=2025-02-30"])
    with pytest.raises(InputError, match=r"^--set 'x=\{a: 1, a: 2\}': duplicate key 'a' in a mapping$"):
        parse_assignments(["x={a: 1, a: 2}"])
    with pytest.raises(InputError, match=r"^--param '!!int x': invalid YAML: 'x' is not a valid int"):
        parse_values("1,!!int x", option="--param")


def test_a_ledger_mapping_file_is_read_as_strictly(tmp_path):
    from arsim.ledger.read import load_mapping

    path = tmp_path / "mapping.yaml"
    path.write_text("columns: {Belnr: invoice_id}\ndate_format: 2025-02-30\n")
    with pytest.raises(InputError, match=r"^mapping.yaml: mapping: line 2: invalid YAML: '2025-02-30' is not a valid date"):
        load_mapping(path)


@pytest.mark.parametrize(("text", "value"), [("65e3", 65000.0), ("6.5e4", 65000.0), ("6.5E+4", 65000.0), ("1.0e+3", 1000.0), (".5e2", 50.0)])
def test_numbers_in_scientific_notation_are_numbers(tmp_path, text, value):
    """YAML 1.1 (PyYAML) would read 65e3 as text; users and YAML 1.2 read a number."""
    path = tmp_path / "s.yaml"
    path.write_text(f"name: e\nteam: {{cost_per_collector_per_year: {text}}}\n")
    assert load_scenario(path).team.cost_per_collector_per_year == value


def test_text_that_only_looks_like_a_number_stays_text():
    from arsim.scenario.yaml_text import parse_yaml

    assert [parse_yaml(t, source="x") for t in ("1e", "e5", "1.5.e3", "2025-01-02x")] == ["1e", "e5", "1.5.e3", "2025-01-02x"]


@pytest.mark.parametrize(("value", "problem"), [
    ("!!set [1]", "invalid YAML: expected a mapping node, but found sequence"),
    ("!!timestamp 99999-01-01", "invalid YAML: '99999-01-01' is not a valid date"),
    ("!!python/object:os.system x", "invalid YAML: could not determine a constructor"),
])
def test_tags_pyyaml_itself_trips_on_are_one_line_mistakes(value, problem):
    from arsim.cli.common import parse_assignments

    with pytest.raises(InputError) as error:
        parse_assignments([f"team.collectors={value}"])
    assert str(error.value).startswith(f"--set 'team.collectors={value}': {problem}")


def test_text_that_reads_as_a_number_survives_a_round_trip(tmp_path):
    """A name such as 2e5 is written quoted, so the strict reader (which takes 2e5 for a number) reads it back as text."""
    from arsim.scenario.files import dump_yaml

    scenario = load_scenario(ROOT / "scenarios" / "smb.yaml").with_overrides({"name": "2e5", "description": "1E3"})
    path = tmp_path / "again.yaml"
    path.write_text(dump_yaml(scenario))
    assert load_scenario(path) == scenario
