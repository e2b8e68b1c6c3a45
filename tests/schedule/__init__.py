"""Tests of pure time."""
