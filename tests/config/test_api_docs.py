"""The API's docs page works offline: ninja's Swagger UI comes from our static files, not a CDN."""

from __future__ import annotations

import re

from django.test import Client


def test_the_docs_page_loads_swagger_from_our_static_files(db):
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r'src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts
    assert "/static/ninja/swagger-ui-bundle.js" in scripts
    assert "cdn" not in html.lower()
    assert '"/api/v1/openapi.json"' in html


def test_the_swagger_files_are_served(db):
    for name in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        response = Client().get(f"/static/ninja/{name}")
        assert response.status_code == 200, name


def test_the_docs_page_is_a_page_of_the_site(db):
    html = Client().get("/api/v1/docs").content.decode()
    assert '<html lang="en">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'class="site-header"' in html and 'aria-label="Main"' in html
    assert '<meta name="color-scheme" content="light dark">' in html and "api_docs.css" in html
