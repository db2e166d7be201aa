"""CSV cells a spreadsheet would run as a formula are escaped; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from oms.domain.spreadsheet import safe_cell, write_csv


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", '=HYPERLINK("http://x")'],
)
def test_a_formula_gets_a_leading_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+3", "-0", "Cap", "", "a=b", 42, None])
def test_numbers_and_plain_text_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value


def test_write_csv_escapes_every_cell_and_keeps_the_header() -> None:
    text = write_csv(["name", "amount"], [{"name": "=evil()", "amount": "-5.00"}])
    assert list(csv.DictReader(io.StringIO(text))) == [{"name": "'=evil()", "amount": "-5.00"}]
