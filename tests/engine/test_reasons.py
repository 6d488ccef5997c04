"""Reason texts: what a caseworker reads beside a score."""

from __future__ import annotations

from matcher.reasons import render


def test_linked_course_reason_says_graduated_for_a_match():
    vi, en = render("graduated_linked_course", 1.0, {"course_name": "May công nghiệp K1"})

    assert vi.startswith("Đã tốt nghiệp khóa May công nghiệp K1")
    assert "Graduated" in en


def test_pathway_reasons_say_what_the_course_leads_to_not_that_it_was_taken():
    # A pathway scores a course the worker has not taken as if graduated (issue 11).
    details = {"course_name": "May công nghiệp K1", "trade": "garment", "pathway": True}

    texts = [render(n, 1.0, details) for n in ("graduated_linked_course",
             "graduated_trade_course", "trade_match")]  # fmt: skip

    assert all(t is not None for t in texts)
    assert not any("Đã tốt nghiệp" in vi or "Graduated" in en for vi, en in texts)
    assert "dẫn tới đơn hàng này" in texts[0][0] and "leads to this commitment" in texts[0][1]
