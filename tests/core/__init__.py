"""Tests of the small shared core."""
