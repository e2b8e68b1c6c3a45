"""Tests of ticks end to end against Azurite and the emulator."""
