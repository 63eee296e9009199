"""The mock harness itself (tests/pulumi_harness.py): loud on unknown invokes, faithful on dependencies."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest
from pulumi_harness import UnknownInvokeError, run_program


def test_an_invoke_the_mocks_do_not_know_fails_the_run() -> None:
    """A misspelt token must not pass as an empty answer."""

    def program() -> None:
        aws.get_billing_service_account_output()

    with pytest.raises(
        UnknownInvokeError, match="aws:index/getBillingServiceAccount:getBillingServiceAccount"
    ):
        run_program(program)


def test_an_unknown_invoke_whose_result_is_used_fails_the_run_too() -> None:
    def program() -> None:
        billing = aws.get_billing_service_account_output()
        aws.iam.Role("r", assume_role_policy=billing.arn.apply(lambda arn: arn or "{}"))

    with pytest.raises(Exception, match="do not answer invoke"):
        run_program(program)


def test_dependencies_are_recorded_as_the_engine_gets_them() -> None:
    """``depends_on`` a component reaches its children; an input's resource is a dependency too."""

    def program() -> None:
        group = pulumi.ComponentResource("test:index:Group", "group")
        first = aws.iam.Role("first", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=group))
        aws.iam.Role("second", assume_role_policy="{}", opts=pulumi.ResourceOptions(depends_on=[group]))
        aws.iam.RolePolicyAttachment("third", role=first.name, policy_arn="arn:aws:iam::aws:policy/x")

    mocks = run_program(program)
    first, second = mocks.one("aws:iam/role:Role", "first"), mocks.one("aws:iam/role:Role", "second")
    third = mocks.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "third")
    assert first.urn in second.dependencies
    assert first.urn in third.dependencies
    assert first.parent.endswith("test:index:Group::group")
    assert mocks.waits_for(second, first) and not mocks.waits_for(first, second)
    assert mocks.duplicate_urns() == []


def test_secret_config_keys_reach_the_program_and_are_reset() -> None:
    seen: dict[str, bool] = {}

    def program() -> None:
        seen["secret"] = pulumi.runtime.is_config_secret("armful:grafanaAdminPassword")

    run_program(program, {"armful:grafanaAdminPassword": "x"}, secret_keys=["armful:grafanaAdminPassword"])
    assert seen["secret"] is True
    run_program(program, {"armful:grafanaAdminPassword": "x"})
    assert seen["secret"] is False
