"""Tests of Bicep, manifests and Functions wiring."""
