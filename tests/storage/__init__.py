"""Tests of Table Storage against Azurite."""
