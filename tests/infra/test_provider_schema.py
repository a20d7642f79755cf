"""Every declared resource against pulumi-azure-native's own types (enums, required properties).

The checker is ``provider_schema``; its unit tests come first (synthetic inputs, no Pulumi run),
then the policy: every committed stack (dev, staging, prod) under mocks has no problem.
"""

from __future__ import annotations

import copy

import infra_harness as harness
import provider_schema as ps
import pytest

SQR = "azure-native:monitor:ScheduledQueryRule"
GROUP = "azure-native:monitor:ActionGroup"
WORKFLOW = "azure-native:logic:Workflow"


def rule(**condition) -> dict:
    """A scheduled query rule's inputs the provider's types (and the API) accept."""
    cond = {"query": "requests", "timeAggregation": "Count", "operator": "GreaterThan",
            "threshold": 1.0, **condition}  # fmt: skip
    return {"resourceGroupName": "rg", "kind": "LogAlert", "criteria": {"allOf": [cond]},
            "enabled": True, "scopes": ["/subscriptions/x"]}  # fmt: skip


def messages(token: str, inputs: dict) -> dict[str, str]:
    return {p.path: p.message for p in ps.check_resource(token, inputs)}


def test_valid_inputs_have_no_problem():
    dims = [{"name": "m", "operator": "Include", "values": ["*"]}]
    assert ps.check_resource(SQR, rule(dimensions=dims)) == []


def test_misspelled_enum_value_is_caught():
    found = messages(SQR, rule(timeAggregation="Avg"))
    assert list(found) == ["criteria.allOf[0].timeAggregation"]
    assert (
        "'Avg' is not one of ['Average', 'Count', 'Maximum', 'Minimum', 'Total']"
        in (found["criteria.allOf[0].timeAggregation"])
    )


def test_missing_required_property_is_caught():
    inputs = rule()
    del inputs["resourceGroupName"]
    assert messages(SQR, inputs) == {
        "resourceGroupName": "required by ScheduledQueryRuleArgs, missing"
    }


def test_property_the_api_requires_is_caught_where_the_provider_is_looser():
    inputs = rule()
    del inputs["scopes"]
    found = messages(SQR, inputs)
    assert list(found) == ["scopes"] and "required by the API" in found["scopes"]


@pytest.mark.parametrize("key", sorted(ps.REQUIRED_BY_API))
def test_each_required_by_api_entry_is_still_needed(key):
    """The provider's type still marks the property optional (else the entry is redundant)."""
    token, path = key
    assert "." not in path  # top-level entries only, so far
    assert not ps.properties(ps.args_class(token))[path].required


def test_missing_required_property_of_a_list_item_is_caught():
    inputs = {"resourceGroupName": "rg", "groupShortName": "x", "enabled": True,
              "emailReceivers": [{"name": "oncall"}]}  # fmt: skip
    found = messages(GROUP, inputs)
    assert found == {
        "emailReceivers[0].emailAddress": "required by MicrosoftCommonEmailReceiverArgs, missing"
    }


def test_nested_enum_in_a_list_is_caught():
    found = messages(SQR, rule(dimensions=[{"name": "m", "operator": "Includes", "values": []}]))
    assert list(found) == ["criteria.allOf[0].dimensions[0].operator"]
    assert "['Exclude', 'Include']" in found["criteria.allOf[0].dimensions[0].operator"]


def test_nested_enum_in_a_map_is_caught():
    params = {"ok": {"type": "SecureString"}, "bad": {"type": "SecretString"}}
    inputs = {"resourceGroupName": "rg", "parameters": params}
    found = messages(WORKFLOW, inputs)
    assert list(found) == ["parameters['bad'].type"]
    assert "'SecretString' is not one of" in found["parameters['bad'].type"]


def test_unknown_key_and_wrong_scalar_kind_are_caught():
    found = messages(SQR, rule(timeAgg="Count", threshold="1"))
    assert found == {
        "criteria.allOf[0].timeAgg": "ConditionArgs has no property 'timeAgg'",
        "criteria.allOf[0].threshold": "expected float, got '1'",
    }


def test_shadowed_enum_uses_the_rest_spec_values():
    """monitor.ConditionOperator is another resource's (eq, gt, …): 'gt' passes the Python enum
    but not Azure; the REST spec's GreaterThan passes."""
    assert "gt" in {m.value for m in ps.enum_at(SQR, "criteria.allOf[].operator")[0]}
    assert "'gt' is not one of" in messages(SQR, rule(operator="gt"))["criteria.allOf[0].operator"]
    assert messages(SQR, rule(operator="LessThanOrEqual")) == {}


def test_an_unlisted_shadowed_enum_fails_asking_for_an_entry(monkeypatch):
    monkeypatch.delitem(ps.ENUM_OVERRIDES, (SQR, "criteria.allOf[].operator"))
    found = messages(SQR, rule())
    assert "may be another resource's (shadowed)" in found["criteria.allOf[0].operator"]


def test_the_resource_args_class_is_the_resources_own():
    """monitor.ActionGroupArgs is an input type; the resource's class is ActionGroupInitArgs."""
    assert ps.args_class(GROUP).__name__ == "ActionGroupInitArgs"
    assert "groupShortName" in ps.properties(ps.args_class(GROUP))
    assert ps.args_class(SQR).__name__ == "ScheduledQueryRuleArgs"


# -- every exemption is still needed ----------------------------------------------------------


@pytest.mark.parametrize("key", sorted(ps.ENUM_OVERRIDES))
def test_each_enum_override_is_still_needed(key):
    """The provider's enum at that path still differs from the REST spec's values."""
    enum_cls, _doc = ps.enum_at(*key)
    assert {str(m.value) for m in enum_cls} != set(ps.ENUM_OVERRIDES[key].values), key


@pytest.mark.parametrize("key", sorted(ps.SAME_ENUM))
def test_each_same_enum_entry_is_still_needed(key):
    """The enum's docstring still differs from the property's (else no entry is needed)."""
    enum_cls, doc = ps.enum_at(*key)
    assert not ps._same_text(enum_cls.__doc__ or "", doc), key


def test_public_network_access_properties_share_one_enum():
    """The SAME_ENUM reason for the component: both properties are typed with one enum."""
    component = "azure-native:applicationinsights:Component"
    ingestion, _ = ps.enum_at(component, "publicNetworkAccessForIngestion")
    query, _ = ps.enum_at(component, "publicNetworkAccessForQuery")
    assert ingestion is query and {m.value for m in query} == {"Enabled", "Disabled"}


# -- the policy: every committed stack ---------------------------------------------------------


@pytest.mark.pulumi
@pytest.mark.parametrize("stack", harness.STACKS)
def test_every_declared_resource_matches_the_provider_schema(stack_runs, stack):
    run = stack_runs[stack]
    checked = [r for r in run.custom if r.type.startswith("azure-native:")]
    assert len(checked) == len(run.custom)  # nothing escapes the check
    problems = ps.check_resources(run.resources)
    assert [str(p) for p in problems] == []


@pytest.mark.pulumi
def test_table_entries_are_used_by_a_committed_stack(stack_runs):
    seen = {
        (r.type, path)
        for run in stack_runs.values()
        for r in run.custom
        for path in ps.enum_paths(r.type, r.inputs)
    }
    assert set(ps.ENUM_OVERRIDES) <= seen
    assert set(ps.SAME_ENUM) <= seen


@pytest.mark.pulumi
def test_the_policy_catches_a_misspelling_in_a_real_stack(stack_runs):
    """Break one recorded prod rule the way a typo would: the check names it."""
    declared = next(r for r in stack_runs["prod"].of_type(SQR))
    inputs = copy.deepcopy(declared.inputs)
    inputs["criteria"]["allOf"][0]["timeAggregation"] = "Avg"
    (problem,) = ps.check_resource(declared.type, inputs, declared.name)
    assert problem.path == "criteria.allOf[0].timeAggregation"
    assert declared.name in str(problem) and "'Avg'" in str(problem)
