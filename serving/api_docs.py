"""The HTTP API's documentation page, rendered from its OpenAPI schema by the app itself.

FastAPI's stock ``/docs`` and ``/redoc`` load Swagger UI or ReDoc from a CDN, so they are blank
on a machine without internet, and neither FastAPI nor its dependencies ship those assets. This
page is one HTML document in the style of winback's reports (styles inline, no script, nothing
fetched): every endpoint with its auth, body and answers, then every schema; the machine-readable
schema stays at ``/openapi.json``.
"""

from __future__ import annotations

import re
from typing import Any

from winback.common.html import escape, page, section, table

_METHODS = ("get", "post", "put", "patch", "delete")


def docs_page(schema: dict[str, Any], *, openapi_url: str) -> str:
    """The whole page for ``schema``; links point at this server only."""
    info = schema.get("info", {})
    operations = [
        (method.upper(), path, operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS
    ]
    components = schema.get("components", {}).get("schemas", {})
    nav = " ".join(
        f'<a href="#{_anchor(m, p)}">{escape(m)} {escape(p)}</a>' for m, p, _ in operations
    )
    nav += f' <a href="#schemas">schemas</a> <a href="{escape(openapi_url)}">openapi.json</a>'
    intro = f"<p>{_text(info.get('description', ''))}</p>"
    intro += f'<p class="muted">Machine-readable: <a href="{escape(openapi_url)}">'
    intro += f"{escape(openapi_url)}</a> (OpenAPI {escape(schema.get('openapi', ''))}).</p>"
    sections = [section("about", "About", intro)]
    sections += [_operation(m, p, op) for m, p, op in operations]
    sections.append(
        section("schemas", "Schemas", "\n".join(_schema(n, s) for n, s in components.items()))
    )
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    return page(title, info.get("summary", ""), nav, sections)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    parts = []
    if operation.get("summary"):
        parts.append(f"<p><b>{escape(operation['summary'])}</b></p>")
    if operation.get("description"):
        parts += [f"<p>{_text(p)}</p>" for p in operation["description"].split("\n\n")]
    if operation.get("security"):
        parts.append('<p class="note">Needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>')
    else:
        parts.append('<p class="note">Open: no token needed.</p>')
    content = operation.get("requestBody", {}).get("content", {})
    for media, body in content.items():
        schema = body.get("schema", {})
        if "properties" in schema:  # declared in place, not among the schemas
            parts.append(f"<p>Body ({escape(media)}):</p>{_fields(schema)}")
        else:
            parts.append(f"<p>Body ({escape(media)}): {_type(schema)}</p>")
    answers = [
        [escape(status), _text(answer.get("description", "")), _answer_type(answer)]
        for status, answer in operation.get("responses", {}).items()
    ]
    parts.append(table(["status", "meaning", "body"], answers))
    title = f"{method} {path}"
    return section(_anchor(method, path), title, "\n".join(parts))


def _answer_type(answer: dict[str, Any]) -> str:
    content = answer.get("content", {})
    schemas = [body.get("schema", {}) for body in content.values()]
    return ", ".join(_type(s) for s in schemas if s) or "—"


def _schema(name: str, schema: dict[str, Any]) -> str:
    parts = [f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>']
    if "properties" in schema:
        parts.append(_fields(schema))
    elif schema.get("description"):
        parts.append(f"<p>{_text(schema['description'])}</p>")
    return "\n".join(parts)


def _fields(schema: dict[str, Any]) -> str:
    """An object schema's description and a table of its fields."""
    required = set(schema.get("required", []))
    fields = [
        [
            f"<code>{escape(field)}</code>",
            _type(spec),
            "yes" if field in required else "",
            _text(spec.get("description", "")),
        ]
        for field, spec in schema["properties"].items()
    ]
    intro = f"<p>{_text(schema['description'])}</p>" if schema.get("description") else ""
    return intro + table(["field", "type", "required", "meaning"], fields)


def _type(spec: dict[str, Any]) -> str:
    """A JSON schema as a short, linked type: ``list of ScoreRow``, ``number (≥ 0) or null``."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    union = spec.get("anyOf") or spec.get("oneOf") or spec.get("allOf")
    if union:
        return " or ".join(_type(s) for s in union)
    values = [spec["const"]] if "const" in spec else spec.get("enum")
    if values is not None:
        return " | ".join(f"<code>{escape(v)}</code>" for v in values)
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"object of {_type(spec['additionalProperties'])}"
    bounds = [
        f"{sign} {escape(spec[key])}"
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"),
                          ("minItems", "items ≥"))
        if key in spec
    ]  # fmt: skip
    return escape(spec.get("format", kind)) + (f" ({', '.join(bounds)})" if bounds else "")


def _text(text: str) -> str:
    """Escaped prose, with ``code`` spans kept as code."""
    parts = re.split(r"``?([^`]+)``?", text)
    return "".join(f"<code>{escape(p)}</code>" if i % 2 else escape(p) for i, p in enumerate(parts))


def _anchor(method: str, path: str) -> str:
    return f"{method.lower()}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}"


__all__ = ["docs_page"]
