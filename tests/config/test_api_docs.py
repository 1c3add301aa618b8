"""The API's docs page works offline: ninja's Swagger UI comes from our static files, not a CDN."""

from __future__ import annotations

import re

from django.test import Client


def test_the_docs_page_loads_swagger_from_our_static_files(db):
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r'src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/ninja/") for src in scripts), scripts
    assert "cdn" not in html.lower()
    assert '"/api/v1/openapi.json"' in html


def test_the_swagger_files_are_served(db):
    for name in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        response = Client().get(f"/static/ninja/{name}")
        assert response.status_code == 200, name
