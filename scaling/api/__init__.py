"""The HTTP API face: the reference Scale API and the projects API over the engine."""
