"""function_app's functions as the host indexes them, indexed once per test session.

`FunctionApp.get_functions()` may be called only once per app object (a second call reports every
function name as a duplicate), so every test that needs the index goes through here.
"""

from __future__ import annotations

import importlib

_indexed: dict[str, object] = {}


def indexed_functions() -> dict[str, object]:
    """Function name -> the built function, from `function_app.app`."""
    if not _indexed:
        app = importlib.import_module("function_app").app
        _indexed.update({f.get_function_name(): f for f in app.get_functions()})
    return _indexed
