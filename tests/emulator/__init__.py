"""Tests of the local AKS emulator."""
