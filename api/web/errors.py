"""Errors as friendly bilingual pages: what happened, and what to do next; never a traceback."""

from __future__ import annotations

from flask import Response, render_template
from markupsafe import escape

from api.errors import TITLES

#: What a visitor can do about each error, Vietnamese then English.
ADVICE = {
    400: ("Hãy quay lại, tải lại trang rồi thử lại.", "Go back, reload the page and try again."),
    401: ("Hãy đăng nhập lại.", "Please sign in again."),
    403: (
        "Tài khoản của bạn không dùng được trang này. Nếu cần, hãy hỏi quản trị viên.",
        "Your account cannot use this page. Ask an administrator if you need it.",
    ),
    404: (
        "Trang hoặc bản ghi này không có, hoặc không thuộc phạm vi của bạn.",
        "This page or record does not exist, or is not yours to see.",
    ),
    413: ("Tệp quá lớn; hãy chia nhỏ rồi tải lên lại.", "The file is too large; split it."),
    429: ("Hãy đợi một lát rồi thử lại.", "Wait a moment and try again."),
    500: (
        "Đã có lỗi ở máy chủ; không có gì bị lưu dở. Hãy thử lại sau ít phút.",
        "Something went wrong on the server; nothing was half-saved. Try again in a few minutes.",
    ),
    503: ("Hệ thống đang bận; hãy thử lại sau ít giây.", "The system is busy; retry shortly."),
}


def error_page(status: int, detail: str, *, retry_after: int | None = None) -> Response:
    title = TITLES.get(status, "Lỗi / Error")
    vi_title, _, en_title = title.partition(" / ")
    advice = ADVICE.get(status, ADVICE[400] if status < 500 else ADVICE[500])
    try:
        body = render_template(
            "web/error.html",
            status=status,
            title_vi=vi_title,
            title_en=en_title or vi_title,
            detail=detail,
            advice=advice,
        )
    except Exception:  # the page itself failed (database gone?): still answer in words
        body = (
            f'<!doctype html><html lang="vi"><meta charset="utf-8"><title>{status}</title>'
            f"<h1>{escape(title)}</h1><p>{escape(detail)}</p>"
            f"<p>{escape(advice[0])}<br>{escape(advice[1])}</p></html>"
        )
    response = Response(body, status=status, mimetype="text/html")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
