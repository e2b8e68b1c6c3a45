"""The only code that talks to ARM and Kubernetes: Kubernetes API, run-command scripts, node pools."""
