"""Tests of the ARM and Kubernetes access paths."""
