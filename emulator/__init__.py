"""A local AKS emulator (ARM + Kubernetes API) that speaks the real wire protocols."""
