"""Tests of the status page and the savings report."""
