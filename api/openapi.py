"""Operations declared once: the same pydantic models validate requests and write the OpenAPI.

A view is registered with `operation(...)`, which names its roles, query, body and response
models. The wrapper authenticates, parses and validates, calls the view, and serialises its
result through the response model; `build_spec` walks the same registry, so the document cannot
drift from the routes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from api.auth import authenticate
from api.errors import (
    PROBLEM_MIME,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from api.i18n import field_message

# Path ids above this cannot exist (PostgreSQL integer); answering 404 early avoids a DB error.
MAX_ID = 2**31 - 1
_RULE_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class Operation:
    method: str
    path: str
    endpoint: str
    summary: str
    description: str
    tag: str
    roles: tuple[str, ...]
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    multipart: type[BaseModel] | None
    alt_content: dict[str, str] = field(default_factory=dict)
    public: bool = False
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_codes: tuple[str, ...] = ()
    #: Other success answers: status → (shape, when), e.g. 202 with the job that does it.
    also: dict[int, tuple[type[BaseModel], str]] = field(default_factory=dict)


REGISTRY: list[Operation] = []


def _error_list(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    items = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"])
        items.append(
            {
                "field": f"{prefix}{loc}" if loc else prefix.rstrip("."),
                "message": field_message(item),
            }
        )
    return items


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Validate query parameters; each may be given once (the document says one value)."""
    repeated = sorted(key for key in request.args if len(request.args.getlist(key)) > 1)
    if repeated:
        raise ValidationFailed(
            "Tham số truy vấn bị lặp / repeated query parameters",
            errors=[{"field": key, "message": "given more than once"} for key in repeated],
        )
    raw = {key: request.args[key] for key in request.args}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ValidationFailed(
            "Tham số truy vấn không hợp lệ / invalid query parameters",
            errors=_error_list(error),
        ) from None


#: No body of this API nests deeper than 4; 32 leaves room and stops a parser's recursion.
MAX_JSON_DEPTH = 32
# The closing quote is optional: an unterminated string must not make the scan backtrack
# (a body of \" repeated would otherwise cost time quadratic in its length).
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _nesting_depth(text: str) -> int:
    """The deepest bracket nesting outside strings, found without parsing (which recurses)."""
    depth = deepest = 0
    for token in _BRACKETS.findall(text):
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    return deepest


def _integral(value: Any) -> Any:
    """Write 7.0 as 7 throughout a parsed body (float fields accept an int as well)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Validate a JSON body: 415 for another media type, 400 for broken JSON, 422 for bad fields."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "Cần nội dung JSON (Content-Type: application/json) / expected a JSON body"
        )
    limit = current_app.config["MAX_JSON_BYTES"]
    if (request.content_length or 0) > limit or len(request.get_data()) > limit:
        raise PayloadTooLarge(
            f"Nội dung JSON quá {limit // 1024} kB / the JSON body is over {limit // 1024} kB"
        )
    text = request.get_data(as_text=True)
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"JSON lồng quá {MAX_JSON_DEPTH} cấp / the JSON is nested deeper than"
            f" {MAX_JSON_DEPTH} levels"
        )
    try:
        payload = json.loads(text or "null")
    except ValueError as error:
        raise BadRequest(f"JSON hỏng / malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise ValidationFailed(
            "Nội dung phải là một đối tượng JSON / the body must be a JSON object",
            errors=[{"field": "body", "message": "expected an object"}],
        )
    try:
        # Strict JSON mode: "1" is not an integer and 1 is not a boolean or a date. But 7.0
        # is an integer in JSON Schema (and in JavaScript), so integral numbers become ints.
        return model.model_validate_json(json.dumps(_integral(payload)), strict=True)
    except ValidationError as error:
        raise ValidationFailed(
            "Dữ liệu không hợp lệ / invalid fields", errors=_error_list(error)
        ) from None


def parse_form(model: type[BaseModel]) -> BaseModel:
    """Validate a multipart form's plain fields (files are read by the view)."""
    raw: dict[str, Any] = {key: request.form.getlist(key)[-1] for key in request.form}
    # Files are read by the view; the model only checks that they are present.
    raw.update({key: b"" for key in request.files})
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ValidationFailed(
            "Trường biểu mẫu không hợp lệ / invalid form fields", errors=_error_list(error)
        ) from None


def json_response(payload: Any, status: int = 200) -> Response:
    """Serialise JSON keeping Vietnamese readable (no \\u escapes)."""
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
    )


def operation(
    bp: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    roles: tuple[str, ...] = (),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    multipart: type[BaseModel] | None = None,
    alt_content: dict[str, str] | None = None,
    public: bool = False,
    tag: str | None = None,
    path_schemas: dict[str, dict[str, Any]] | None = None,
    extra_codes: tuple[str, ...] = (),
    also: dict[int, tuple[type[BaseModel], str]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view as an API operation with its roles and schemas."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def view(**path_args: Any) -> Response:
            if not public:
                authenticate(roles)
            for name, value in path_args.items():
                if isinstance(value, int) and not 1 <= value <= MAX_ID:
                    raise NotFound(f"Không có bản ghi {name}={value} / no record {name}={value}")
            kwargs: dict[str, Any] = dict(path_args)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            if multipart is not None:
                kwargs["form"] = parse_form(multipart)
            result = fn(**kwargs)
            if isinstance(result, Response):
                return result
            if response is None:
                return Response(status=204)
            if not isinstance(result, BaseModel):
                result = response.model_validate(result)
            return json_response(result.model_dump(mode="json"), status)

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        path = _RULE_PARAM.sub(r"{\2}", (bp.url_prefix or "") + rule)
        REGISTRY.append(
            Operation(
                method=method.lower(),
                path=path,
                endpoint=f"{bp.name}.{fn.__name__}",
                summary=summary,
                description=(fn.__doc__ or "").strip(),
                tag=tag or bp.name,
                roles=roles,
                query=query,
                body=body,
                response=response,
                status=status,
                multipart=multipart,
                alt_content=alt_content or {},
                public=public,
                path_schemas=path_schemas or {},
                extra_codes=extra_codes,
                also=also or {},
            )
        )
        return view

    return decorator


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

ERROR_DESCRIPTIONS = {
    "400": "Yêu cầu hỏng / malformed request",
    "401": "Thiếu hoặc sai mã truy cập / missing or invalid token",
    "403": "Vai trò không được phép / role not allowed",
    "404": "Không tìm thấy (hoặc không thuộc phạm vi của bạn) / not found or not yours",
    "409": "Xung đột với trạng thái hiện tại / conflicts with the current state",
    "413": "Tệp quá lớn / payload too large",
    "415": "Kiểu nội dung không hỗ trợ / unsupported media type",
    "422": "Dữ liệu không hợp lệ / validation failed",
    "429": "Quá nhiều mã truy cập sai từ địa chỉ này (xem Retry-After) / too many invalid"
    " tokens from this address (see Retry-After)",
    "503": "Cơ sở dữ liệu bận hoặc không kết nối được (xem Retry-After) / database busy or"
    " unreachable (see Retry-After)",
}


def _rule_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def build_spec(title: str, version: str) -> dict[str, Any]:
    """Write the OpenAPI 3.1 document from the operation registry and its pydantic models."""
    models: list[tuple[type[BaseModel], str]] = []
    for op in REGISTRY:
        for model in (op.body, op.multipart):
            if model is not None:
                models.append((model, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
        models += [(shape, "serialization") for shape, _ in op.also.values()]
    keys, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas = dict(defs.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for op in REGISTRY:
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": op.path_schemas.get(name)
                or (
                    {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                    if name.endswith("id")
                    else {"type": "string"}
                ),
            }
            for name in _rule_params(op.path)
        ]
        if op.query is not None:
            query_schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                prop = dict(prop)
                description = prop.pop("description", None)
                prop.pop("title", None)
                param = {"name": name, "in": "query", "required": name in required, "schema": prop}
                if description:
                    param["description"] = description
                params.append(param)
        responses: dict[str, Any] = {}
        if op.response is not None:
            content = {
                "application/json": {"schema": keys[(op.response, "serialization")]},
            }
            for mime, description in op.alt_content.items():
                content[mime] = {"schema": {"type": "string"}, "description": description}
            responses[str(op.status)] = {"description": op.summary, "content": content}
        else:
            responses[str(op.status)] = {"description": op.summary}
        for code, (shape, when) in op.also.items():
            responses[str(code)] = {
                "description": when,
                "content": {"application/json": {"schema": keys[(shape, "serialization")]}},
            }
        codes = ["400", "422", "503"]
        if not op.public:
            codes += ["401", "403", "404", "429"]
        if op.method in ("post", "patch", "put", "delete"):
            codes += ["409"]
        codes += list(op.extra_codes)
        if op.body is not None or op.multipart is not None:
            codes += ["413", "415"]
        for code in sorted(set(codes)):
            responses[code] = {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {PROBLEM_MIME: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        entry: dict[str, Any] = {
            "operationId": op.endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params,
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.roles and not op.public:
            entry["x-roles"] = list(op.roles)
            entry["description"] = (
                entry.get("description", "") + f"\n\nRoles / vai trò: {', '.join(op.roles)}."
            ).strip()
        if op.public:
            entry["security"] = []
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keys[(op.body, "validation")]}},
            }
        if op.multipart is not None:
            form_ref = keys[(op.multipart, "validation")]
            entry["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": form_ref}},
            }
        paths.setdefault(op.path, {})[op.method] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Cầu Nối — kết nối đào tạo nghề với việc làm / "
                "vocational training-to-employment matching. "
                "Errors are application/problem+json."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
