"""HTTP errors as problem+json: one helper, used by every error path, so clients parse one shape."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json
from sqlalchemy.exc import IntegrityError
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
    422: "Dữ liệu không hợp lệ / Validation failed",
    500: "Lỗi máy chủ / Internal server error",
}


# Werkzeug's own messages are English only; routing errors get bilingual ones.
ROUTING_DETAILS = {
    404: "Không có đường dẫn này / no such path",
    405: "Đường dẫn này không nhận phương thức đó / this path does not accept that method",
    413: "Tệp hoặc nội dung quá lớn / the upload is too large",
}


class ApiError(Exception):
    """An error the API answers on purpose, with a status and a message for the user."""

    status = 400
    slug = "bad-request"

    def __init__(
        self, detail: str, *, errors: list[dict[str, str]] | None = None, status: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
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


def problem(
    status: int, detail: str, *, slug: str | None = None, errors: list[dict[str, str]] | None = None
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
    return response


def register_errorhandlers(app: Flask) -> None:
    """Map every exception to problem+json; a 500 rolls the session back so nothing half-lands."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        db.session.rollback()
        return problem(error.status, error.detail, slug=error.slug, errors=error.errors)

    @app.errorhandler(FileFormatError)
    def handle_file_format(error: FileFormatError) -> Response:
        db.session.rollback()
        return problem(422, str(error), slug="file-format")

    @app.errorhandler(IntegrityError)
    def handle_integrity(error: IntegrityError) -> Response:
        # The database's constraints are the last guard (a race the checks above lost).
        db.session.rollback()
        app.logger.warning("integrity error: %s", error.orig)
        return problem(
            409,
            "Xung đột với dữ liệu hiện có (vừa thay đổi?); hãy thử lại / conflicts with the "
            "current data (changed meanwhile?); please retry",
            slug="conflict",
        )

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        db.session.rollback()
        status = error.code or 500
        detail = ROUTING_DETAILS.get(status, error.description or "")
        response = problem(status, detail, slug=str(status))
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return problem(500, "Lỗi không mong đợi / Unexpected error", slug="internal")
