"""Tests of pure decisions."""
