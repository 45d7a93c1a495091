"""The sign-in rules: when failures lock a username out and for how long, where a sign-in goes on to."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.sign_in import Lockout, landing_page, local_path, sign_in_name

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_four_failures_in_five_minutes_still_let_a_sign_in_through() -> None:
    assert Lockout().retry_after([ago(10), ago(20), ago(30), ago(40)], NOW) is None


def test_the_fifth_failure_locks_out_until_the_oldest_leaves_the_window() -> None:
    assert Lockout().retry_after([ago(100), ago(50), ago(40), ago(30), ago(20)], NOW) == 200


def test_with_more_than_five_failures_the_lock_lasts_until_only_four_are_left() -> None:
    failures = [ago(290), ago(280), ago(100), ago(50), ago(40), ago(30)]
    assert Lockout().retry_after(failures, NOW) == 300 - 280  # 290 and 280 must both leave


def test_failures_older_than_the_window_do_not_count() -> None:
    assert Lockout().retry_after([ago(301), ago(400), ago(40), ago(30), ago(20), ago(10)], NOW) is None


def test_a_lock_ending_within_the_second_still_says_one_second() -> None:
    assert Lockout().retry_after([ago(299.5), ago(4), ago(3), ago(2), ago(1)], NOW) == 1


@pytest.mark.parametrize(
    ("roles", "page"),
    [
        ({"kitchen"}, "/kitchen"),
        ({"driver"}, "/driver"),
        ({"manager"}, "/kitchen"),
        ({"driver", "kitchen"}, "/kitchen"),
        ({"driver", "manager"}, "/kitchen"),
    ],
)
def test_staff_land_on_the_page_their_role_needs(roles: set[str], page: str) -> None:
    assert landing_page(frozenset(roles)) == page


@pytest.mark.parametrize("target", ["/kitchen", "/track/abc?x=1", "/driver#mine"])
def test_a_path_of_this_site_is_gone_on_to(target: str) -> None:
    assert local_path(target)


@pytest.mark.parametrize(
    "target",
    ["", "kitchen", "//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil.example", "/ /x", "/\x00"],
)
def test_anything_that_could_lead_to_another_site_is_not(target: str) -> None:
    assert not local_path(target)


def test_a_typed_username_is_read_as_accounts_hold_it() -> None:
    assert sign_in_name("  Luigi ") == "luigi"
