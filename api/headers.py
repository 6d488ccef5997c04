"""Protective response headers, set once for every response.

Personal data and exports must not stay in a shared computer's browser cache or a proxy
(`Cache-Control: no-store` on everything dynamic); a browser must not guess a download is a
page (`nosniff`); pages run only the scripts we serve and cannot be framed by another site
(a CSP with `frame-ancestors 'none'`). Static files keep their own long cache lifetime.
"""

from __future__ import annotations

from flask import Flask, Response

#: Pages: our own scripts only (Swagger UI's set-up is a file too, not inline). Inline
#: styles stay allowed: Swagger UI writes style attributes.
HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Data (JSON, CSV, .xlsx, SVG): nothing in it may run or be framed.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def protect(response: Response) -> Response:
    """Add the headers; a view that set its own Cache-Control (static files) keeps it."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", HTML_POLICY)
    else:
        headers.setdefault("Content-Security-Policy", DATA_POLICY)
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    app.after_request(protect)
