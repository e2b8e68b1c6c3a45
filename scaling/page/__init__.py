"""The web face: the operator's status page, the savings report, and the ASGI app serving them with the API."""
