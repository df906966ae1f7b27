"""CSV downloads open safely in a spreadsheet and keep numbers as numbers."""

from distill_site.web import csv_lines


def test_formula_like_text_is_quoted_but_numbers_are_not():
    lines = list(csv_lines([["comment", "value"], ["=HYPERLINK(\"http://x\")", "-0.5"], ["@SUM(A1)", 3]]))
    assert lines == ["comment,value\n", "\"'=HYPERLINK(\"\"http://x\"\")\",-0.5\n", "'@SUM(A1),3\n"]
