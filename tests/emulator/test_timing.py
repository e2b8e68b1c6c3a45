"""The emulator's timing model: node durations per VM size, and the cluster autoscaler in virtual time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.cluster_autoscaler import AutoscalerProfile, ClusterAutoscaler, NodeSet
from emulator.timing import NO_TIME, SIZES, SizeTiming, Spread, TimingModel, is_gpu, size_timing

T4, A100, CPU = "Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_D4s_v5"
MIN = 60.0


def draws(model: TimingModel, size: str, n: int = 200) -> list[float]:
    return list(model.scale_up(size, n).ready)


# -- durations -------------------------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_durations():
    assert draws(TimingModel(seed=3), T4) == draws(TimingModel(seed=3), T4)
    assert draws(TimingModel(seed=3), T4) != draws(TimingModel(seed=4), T4)


def test_gpu_nodes_take_minutes_to_ready_and_cpu_nodes_less():
    model = TimingModel(seed=1)
    t4, a100, cpu = draws(model, T4), draws(model, A100), draws(model, CPU)
    assert min(t4) >= 4 * MIN and max(t4) <= 10 * MIN
    assert min(a100) >= 5 * MIN and max(a100) <= 14 * MIN
    assert sum(a100) / len(a100) > sum(t4) / len(t4) > sum(cpu) / len(cpu)
    assert max(cpu) <= 5 * MIN


def test_gpu_pods_can_schedule_only_after_the_device_plugin_and_cpu_pods_at_ready():
    up = TimingModel(seed=2).scale_up(T4, 5)
    assert all(a > r for r, a in zip(up.ready, up.allocatable, strict=True))
    cpu = TimingModel(seed=2).scale_up(CPU, 5)
    assert cpu.allocatable == cpu.ready


def test_nodes_started_together_each_draw_their_own_time_and_the_operation_waits_for_the_last():
    up = TimingModel(seed=5).scale_up(T4, 4)
    assert len(set(up.ready)) == 4
    assert up.seconds == max(up.ready)


def test_an_unlisted_n_series_size_is_timed_as_a_gpu_and_any_other_as_a_cpu():
    assert is_gpu("Standard_ND96asr_v4") and is_gpu("standard_nv36ads_a10_v5")
    assert not is_gpu("Standard_E8s_v5")
    assert size_timing("STANDARD_NC4AS_T4_V3") is SIZES["standard_nc4as_t4_v3"]


def test_scale_turns_minutes_into_milliseconds_with_the_same_draws():
    full, fast = TimingModel(seed=9), TimingModel(seed=9, scale=0.001)
    assert [round(x / 1000, 9) for x in draws(full, T4, 5)] == [round(x, 9) for x in draws(fast, T4, 5)]


def test_pool_operation_lasts_until_new_nodes_are_ready_or_old_ones_gone():
    model = TimingModel(seed=4)
    assert 4 * MIN <= model.pool_operation(T4, nodes_before=0, nodes_after=2) <= 10 * MIN
    assert 0 < model.pool_operation(T4, nodes_before=2, nodes_after=0) <= 4 * MIN
    assert model.pool_operation(T4, nodes_before=2, nodes_after=2) == 30.0


def test_sizes_can_be_overridden_per_model():
    custom = SizeTiming("Custom_X", False, Spread(7, 7, 7), NO_TIME, size_timing(CPU).stop)
    model = TimingModel(sizes={"Custom_X": custom})
    assert model.scale_up("custom_x", 2).ready == (7.0, 7.0)


def test_a_spread_out_of_order_is_refused_with_its_figures():
    with pytest.raises(ValueError, match="low <= mode <= high, got 5, 3, 9"):
        Spread(5, 3, 9)


def test_a_negative_node_count_is_refused():
    with pytest.raises(ValueError, match="cannot start -1 nodes"):
        TimingModel().scale_up(T4, -1)


# -- node sets -------------------------------------------------------------------------------------------


def test_nodes_are_billed_from_their_start_until_they_are_gone():
    nodes = NodeSet(T4, TimingModel(seed=1, sizes={}), nodes=0)
    nodes.add(0.0, 2)
    seconds = nodes.remove(3600.0, 2)
    assert nodes.count() == 0 and nodes.ready(3600.0) == 0
    assert nodes.billed_seconds(0.0, 10 * 3600) == pytest.approx(2 * (3600 + seconds))
    assert nodes.billed_seconds(0.0, 1800.0) == pytest.approx(2 * 1800)


def test_resize_adds_or_removes_the_difference_newest_first():
    nodes = NodeSet(T4, TimingModel(seed=1), nodes=1)
    nodes.resize(100.0, 3)
    nodes.resize(200.0, 1)
    assert [n.started for n in nodes.live()] == [0.0]
    assert [op.nodes for op in nodes.operations] == [2, -2]


# -- cluster autoscaler ----------------------------------------------------------------------------------


def autoscaled(nodes: int = 0, *, low: int = 0, high: int = 3, seed: int = 1) -> ClusterAutoscaler:
    return ClusterAutoscaler(NodeSet(T4, TimingModel(seed=seed), nodes=nodes), min_count=low, max_count=high)


def test_the_documented_aks_defaults():
    profile = AutoscalerProfile()
    assert (profile.scan_interval, profile.scale_down_unneeded_time, profile.scale_down_delay_after_add) == (
        10,
        600,
        600,
    )
    assert (profile.max_node_provision_time, profile.max_empty_bulk_delete) == (900, 10)


def test_pending_pods_add_nodes_at_the_next_scan_up_to_max():
    ca = autoscaled(high=2)
    ca.set_demand(3.0, 5)
    ca.advance(60.0)
    assert [(op.at, op.nodes) for op in ca.nodes.operations] == [(10.0, 2)]


def test_an_unneeded_node_goes_after_the_unneeded_time():
    ca = autoscaled(nodes=1)
    ca.set_demand(0.0, 0)
    ca.advance(590.0)
    assert ca.nodes.count() == 1
    ca.advance(600.0)
    assert ca.nodes.count() == 0 and ca.nodes.operations[-1].by == "autoscaler"


def test_a_new_node_stays_at_least_the_delay_after_add():
    ca = autoscaled()
    ca.set_demand(0.0, 1)
    ca.advance(1.0)
    ready = ca.nodes.live()[0].ready
    ca.set_demand(ready, 0)  # needed for a moment only
    ca.advance(ready + 590.0)
    assert ca.nodes.count() == 1
    ca.advance(ready + 620.0)
    assert ca.nodes.count() == 0


def test_a_fresh_empty_pool_reaches_zero_after_delay_after_add_plus_unneeded_time():
    # Azure/AKS#1565: "around 20 mins" for a new pool with min 0 (scale-up at 0, Ready a few minutes later)
    ca = autoscaled()
    ca.set_demand(0.0, 1)
    ca.set_demand(1.0, 0)
    ca.advance(3600.0)
    removed = ca.nodes.operations[-1]
    assert removed.nodes == -1
    assert 600 + 4 * MIN <= removed.at <= 600 + 10 * MIN + 600


def test_demand_coming_back_resets_the_unneeded_clock():
    ca = autoscaled(nodes=1)
    ca.set_demand(0.0, 0)
    ca.set_demand(500.0, 1)
    ca.set_demand(700.0, 0)
    ca.advance(1290.0)
    assert ca.nodes.count() == 1
    ca.advance(1300.0)
    assert ca.nodes.count() == 0


def test_min_count_nodes_are_never_removed():
    ca = autoscaled(nodes=3, low=2)
    ca.set_demand(0.0, 0)
    ca.advance(24 * 3600.0)
    assert ca.nodes.count() == 2


def test_at_most_max_empty_bulk_delete_nodes_go_at_once():
    ca = ClusterAutoscaler(NodeSet(T4, TimingModel(), nodes=12), min_count=0, max_count=20)
    ca.set_demand(0.0, 0)
    ca.advance(600.0)
    assert [op.nodes for op in ca.nodes.operations] == [-10]
    ca.advance(610.0)
    assert [op.nodes for op in ca.nodes.operations] == [-10, -2]


def test_bounds_out_of_order_are_refused():
    with pytest.raises(ValueError, match="min_count <= max_count, got 3, 1"):
        ClusterAutoscaler(NodeSet(T4, TimingModel()), min_count=3, max_count=1)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 7200), st.integers(0, 6)), min_size=1, max_size=12),
    low=st.integers(0, 2),
    extra=st.integers(0, 3),
)
def test_the_node_count_stays_within_bounds_and_demand_is_met_once_nodes_come(steps, low, extra):
    ca = autoscaled(low=low, high=low + extra)
    now = 0.0
    for gap, pods in steps:
        now += gap
        ca.set_demand(now, pods)
        assert low <= ca.nodes.count() <= low + extra or ca.nodes.count() < low  # below min only before a scan
    ca.advance(now + 15 * MIN)
    assert low <= ca.nodes.count() <= low + extra
    assert ca.nodes.allocatable(now + 15 * MIN) >= min(ca.pods, low + extra)
