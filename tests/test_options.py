"""`--set KEY=VALUE` parsing shared by `vpeft params` and `vpeft reproduce`."""

from __future__ import annotations

import pytest
from vpeft.errors import UserError
from vpeft.options import parse_key_values


def test_values_are_yaml() -> None:
    assert parse_key_values(["r=8", "lr=1e-3", "target=q,v", "flag=true"]) == {
        "r": 8, "lr": 1e-3, "target": "q,v", "flag": True,
    }
    assert parse_key_values(["grid=[0.1, 2e-4]"], allow_lists=True) == {"grid": [0.1, 2e-4]}
    assert parse_key_values(["name=1e3x"]) == {"name": "1e3x"}


@pytest.mark.parametrize(
    ("items", "allow_lists", "message"),
    [
        (["r"], False, "--set: expected KEY=VALUE, got 'r'"),
        (["=3"], False, "--set: expected KEY=VALUE, got '=3'"),
        (["r=1", "r=2"], False, "--set: option 'r' given twice"),
        (["r=[1, 2]"], False, "--set r: the value must be a single scalar, got '[1, 2]'"),
        (["r={a: 1}"], True, "--set r: the value must be a scalar or a list, got '{a: 1}'"),
        (["r=[1"], True, "--set r: '[1' is not a valid YAML value"),
    ],
)
def test_bad_items_are_one_line(items: list[str], allow_lists: bool, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_key_values(items, allow_lists=allow_lists)
    assert str(info.value) == message
