"""HTTP errors as problem+json: one helper, used by every error path, so clients parse one shape."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from api.extensions import db
from matcher.errors import FileFormatError

PROBLEM_MIME = "application/problem+json"

# Titles are Vietnamese first, then English, because caseworkers read them.
TITLES = {
    400: "Yêu cầu không hợp lệ / Bad request",
    401: "Chưa xác thực / Unauthorized",
    403: "Không có quyền / Forbidden",
    404: "Không tìm thấy / Not found",
    405: "Phương thức không được phép / Method not allowed",
    409: "Xung đột / Conflict",
    413: "Tệp quá lớn / Payload too large",
    415: "Kiểu nội dung không hỗ trợ / Unsupported media type",
    414: "Đường dẫn quá dài / URI too long",
    422: "Dữ liệu không hợp lệ / Validation failed",
    429: "Quá nhiều yêu cầu / Too many requests",
    431: "Tiêu đề quá lớn / Request header fields too large",
    500: "Lỗi máy chủ / Internal server error",
    503: "Tạm thời không phục vụ được / Service unavailable",
}


# Werkzeug's own messages are English only; routing errors get bilingual ones.
ROUTING_DETAILS = {
    400: "Yêu cầu không hợp lệ / the request is not valid",
    403: "Bạn không có quyền mở trang này / you may not open this page",
    429: "Quá nhiều lần thử; hãy đợi một phút rồi thử lại / too many attempts; wait a minute"
    " and try again",
    404: "Không có đường dẫn này / no such path",
    405: "Đường dẫn này không nhận phương thức đó / this path does not accept that method",
    413: "Tệp hoặc nội dung quá lớn / the upload is too large",
    414: "Đường dẫn quá dài / the request line is too long",
    431: "Tiêu đề yêu cầu quá lớn / the request headers are too large",
}


CSRF_DETAIL = (
    "Biểu mẫu thiếu mã bảo vệ hoặc đã hết hạn; hãy tải lại trang rồi gửi lại / the form lacks"
    " its protection token or has expired; reload the page and send it again"
)


class ApiError(Exception):
    """An error the API answers on purpose, with a status and a message for the user."""

    status = 400
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    status, slug = 400, "bad-request"


class Unauthorized(ApiError):
    status, slug = 401, "unauthorized"


class Forbidden(ApiError):
    status, slug = 403, "forbidden"


class NotFound(ApiError):
    status, slug = 404, "not-found"


class Conflict(ApiError):
    status, slug = 409, "conflict"


class UnsupportedMediaType(ApiError):
    status, slug = 415, "unsupported-media-type"


class ValidationFailed(ApiError):
    status, slug = 422, "validation-failed"


class PayloadTooLarge(ApiError):
    status, slug = 413, "payload-too-large"


class TooManyRequests(ApiError):
    status, slug = 429, "too-many-requests"


class ServiceUnavailable(ApiError):
    status, slug = 503, "unavailable"


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    retry_after: int | None = None,
) -> Response:
    """Build a problem+json response (RFC 9457)."""
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{slug or status}",
        "title": TITLES.get(status, "Lỗi / Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="caunoi"'
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


#: Paths answered in JSON even though they are not under /api/ (load balancers' checks).
_JSON_PATHS = ("/healthz", "/readyz")


def wants_page() -> bool:
    """A request for a page (anything outside /api/ and the health checks) gets an error page,
    not problem+json: a caseworker's browser must never show raw JSON or a traceback."""
    path = request.path
    return not (path.startswith("/api/") or path in _JSON_PATHS)


def _answer(status: int, detail: str, **kwargs) -> Response:
    if wants_page():
        from api.web.errors import error_page

        return error_page(status, detail, retry_after=kwargs.get("retry_after"))
    return problem(status, detail, **kwargs)


def register_errorhandlers(app: Flask) -> None:
    """Map every exception to problem+json (an error page for pages); a 500 rolls the session
    back so nothing half-lands."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        db.session.rollback()
        return _answer(
            error.status,
            error.detail,
            slug=error.slug,
            errors=error.errors,
            retry_after=error.retry_after,
        )

    @app.errorhandler(FileFormatError)
    def handle_file_format(error: FileFormatError) -> Response:
        db.session.rollback()
        return _answer(422, str(error), slug="file-format")

    @app.errorhandler(IntegrityError)
    def handle_integrity(error: IntegrityError) -> Response:
        # The database's constraints are the last guard (a race the checks above lost).
        db.session.rollback()
        app.logger.warning("integrity error: %s", error.orig)
        return _answer(
            409,
            "Xung đột với dữ liệu hiện có (vừa thay đổi?); hãy thử lại / conflicts with the "
            "current data (changed meanwhile?); please retry",
            slug="conflict",
        )

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError) -> Response:
        # A SQLite writer still locked after the busy timeout, or a database that is down or
        # restarting: the request did nothing, and may be retried.
        try:
            db.session.rollback()
        except Exception:  # the connection itself may be gone; the pool replaces it
            db.session.invalidate()
        app.logger.warning("database unavailable: %s", error.orig)
        return _answer(
            503,
            "Cơ sở dữ liệu đang bận hoặc không kết nối được; hãy thử lại sau ít giây / the"
            " database is busy or unreachable; retry in a few seconds",
            slug="database-unavailable",
            retry_after=5,
        )

    @app.errorhandler(RecursionError)
    def handle_recursion(error: RecursionError) -> Response:
        db.session.rollback()
        return _answer(
            400, "Dữ liệu lồng nhau quá sâu / the input is nested too deeply", slug="too-deep"
        )

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        db.session.rollback()
        status = error.code or 500
        detail = ROUTING_DETAILS.get(status, error.description or "")
        if isinstance(error, CSRFError):
            detail = CSRF_DETAIL
        response = _answer(status, detail, slug=str(status))
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _answer(500, "Lỗi không mong đợi / Unexpected error", slug="internal")
