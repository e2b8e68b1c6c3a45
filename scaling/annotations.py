"""Annotation and tag names the app writes on the objects it scales, and reads from users."""

PREFIX = "aks-hours/"

# Written by the app in the same request that scales an object down; removed when it is restored.
ORIGINAL_REPLICAS = "aks-hours/original-replicas"  # Deployment / StatefulSet replica count
ORIGINAL_HPA_MIN = "aks-hours/original-min-replicas"  # HorizontalPodAutoscaler minReplicas
ORIGINAL_HPA_MAX = "aks-hours/original-max-replicas"  # HorizontalPodAutoscaler maxReplicas
ORIGINAL_SUSPEND = "aks-hours/original-suspend"  # CronJob spec.suspend ("true"/"false")
PAUSED_BY_APP = "aks-hours/paused"  # on a KEDA ScaledObject the app paused ("true")
OWNER = "aks-hours/project"  # the project that scaled it down, so a release can say why (issue 20)

# Any of these on an object means the app holds something of it (scaling/plan/release.py gives it back).
BOOKKEEPING = (ORIGINAL_REPLICAS, ORIGINAL_HPA_MIN, ORIGINAL_HPA_MAX, ORIGINAL_SUSPEND, PAUSED_BY_APP)

# Set by users on a workload.
EXCLUDE = "aks-hours/exclude"  # "true": never touch this workload
UPTIME = "aks-hours/uptime"  # own uptime spec (project grammar) instead of the project schedule
MIN_REPLICAS = "aks-hours/min-replicas"  # keep N replicas during downtime instead of 0

# KEDA's documented pause annotation.
KEDA_PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"

# Agent pool tags (ARM tag names cannot contain '/'), written in the same PUT that scales a pool down.
TAG_ORIGINAL_COUNT = "aks-hours-original-count"
TAG_ORIGINAL_AUTOSCALING = "aks-hours-original-autoscaling"
TAG_ORIGINAL_MIN = "aks-hours-original-min"
TAG_ORIGINAL_MAX = "aks-hours-original-max"
TAG_ORIGINAL_POWER = "aks-hours-original-power"
TAG_OWNER = "aks-hours-project"  # the project that scaled the pool down (not part of the remembered size)
POOL_TAGS = (TAG_ORIGINAL_COUNT, TAG_ORIGINAL_AUTOSCALING, TAG_ORIGINAL_MIN, TAG_ORIGINAL_MAX, TAG_ORIGINAL_POWER)
