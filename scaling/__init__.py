"""aks-hours: scheduled scale-to-zero of AKS workloads and node pools."""
