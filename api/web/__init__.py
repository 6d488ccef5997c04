"""The web pages: server-rendered Jinja2, Vietnamese first, working without JavaScript.

htmx (vendored) only makes forms and searches smoother; every page and form is plain HTML
that a phone browser with scripts off can use. The pages never query by themselves what a
role may see: they sign the user in to a session token (api.accounts) and call the API's own
operations through :func:`api.web.common.act`, so roles, scopes, validation and the access
log are the API's, enforced in one place.
"""

from __future__ import annotations

from flask import Flask

from api.web import common


def init_app(app: Flask) -> None:
    """Bind sign-in, CSRF, languages and compression, then the page blueprints."""
    from api.web import account, admin, commitments, planning, rounds, uploads, workers

    common.init_extensions(app)
    for module in (account, workers, uploads, commitments, planning, rounds, admin):
        app.register_blueprint(module.bp)
