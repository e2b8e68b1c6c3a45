"""The interactive API docs work offline: every asset comes from the app itself."""

import re

from tests.api.test_errors import make_client


def test_the_docs_page_loads_swagger_ui_from_the_app_not_a_cdn():
    with make_client() as client:
        page = client.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
        assert "/openapi.json" in page.text


def test_every_asset_the_docs_page_names_is_served():
    with make_client() as client:
        page = client.get("/docs").text
        for source in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert client.get(source).status_code == 200, source


def test_the_openapi_document_is_served():
    with make_client() as client:
        assert client.get("/openapi.json").json()["info"]["title"] == "aks-hours"
