"""Scenario files: defaults, validation errors that name the field, overrides, documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    with pytest.raises(InputError, match="--set: team.colectors: unknown field 'colectors'"):
        scenario.with_overrides({"team.colectors": 5})
    with pytest.raises(InputError, match="--set: portfolio.segments.nobody: no list item 'nobody'"):
        scenario.with_overrides({"portfolio.segments.nobody.customers": 5})
    with pytest.raises(InputError, match="--set: team.collectors: Input should be a valid integer"):
        scenario.with_overrides({"team.collectors": "many"})


def test_setting_one_channel_field_keeps_that_channels_other_defaults():
    scenario = validate_scenario({"portfolio": {"segments": [{"name": "a", "contact_response": {"channels": {"call": {"query_probability": 0.2}}}}]}})
    call = scenario.portfolio.segments[0].contact_response.channels["call"]
    assert call.query_probability == 0.2
    assert call.reach_probability == Scenario().portfolio.segments[0].contact_response.channels["call"].reach_probability == 0.35


def test_models_are_frozen():
    scenario = Scenario()
    with pytest.raises(Exception):
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
