"""Savings: node-hours avoided per project and pool from the audit trail, priced from an editable table."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.page.savings import PriceTable, SavingsError, compute_savings, month_range, pool_events
from scaling.schedule.hours import parse

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
PRICES = PriceTable(
    currency="USD", as_of="2026-11-25", source="test", prices={"Standard_NC4as_T4_v3": 0.5, "Standard_D2s_v5": 0.1}
)
SIZES = {("aks1", "gpu"): "Standard_NC4as_T4_v3", ("aks1", "projecta"): "Standard_D2s_v5"}
END_OF_NOVEMBER = datetime(2026, 12, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """The fields of an audit row that savings read."""

    time: datetime
    target: str
    action: str
    from_: str
    to: str
    result: str = "ok"
    project: str = "project-b"
    cluster: str = "aks1"


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


def down(when, pool="gpu", before="3", after="0", **kw):
    return Row(at(when), f"nodepool/{pool}", "down", before, after, **kw)


def up(when, pool="gpu", before="0", after="3", **kw):
    return Row(at(when), f"nodepool/{pool}", "up", before, after, **kw)


def report(rows, month="2026-11", now=END_OF_NOVEMBER, **kw):
    kw.setdefault("vm_sizes", SIZES)
    return compute_savings(rows, month=month, now=now, prices=PRICES, **kw)


def test_one_night_down_counts_hours_times_the_original_nodes():
    result = report([down("2026-11-10T18:00"), up("2026-11-11T08:00")])
    (pool,) = result.pools
    assert (pool.pool, pool.hours_down, pool.node_hours, pool.intervals) == ("gpu", 14.0, 42.0, 1)
    assert pool.cost == pytest.approx(21.0)
    assert result.total_node_hours == 42.0 and result.total_cost == pytest.approx(21.0)


def test_rows_that_changed_nothing_do_not_count():
    rows = [
        down("2026-11-10T18:00", result="dry-run"),
        up("2026-11-11T08:00", result="dry-run"),
        down("2026-11-12T18:00", result="failed"),
        down("2026-11-12T18:05", result="busy"),
    ]
    assert report(rows).pools == ()


def test_workload_rows_are_not_node_pools():
    rows = [Row(at("2026-11-10T18:00"), "deployment/project-b/triton", "down", "1", "0")]
    assert report(rows).pools == ()


def test_a_pool_still_down_at_the_month_end_is_counted_to_the_end_and_flagged():
    (pool,) = report([down("2026-11-30T18:00")]).pools
    assert pool.hours_down == 6.0 and pool.still_down


def test_a_pool_down_since_last_month_counts_from_the_first_of_the_month():
    (pool,) = report([down("2026-10-30T18:00"), up("2026-11-02T08:00")]).pools
    assert pool.hours_down == 32.0  # Nov 1 00:00 -> Nov 2 08:00


def test_a_month_not_over_yet_is_counted_until_now():
    result = report([down("2026-11-20T18:00")], now=datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
    assert result.pools[0].hours_down == 12.0
    assert result.end == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def test_a_month_with_a_dst_change_has_its_real_length():
    rows = [down("2026-09-30T12:00"), up("2026-11-02T08:00")]
    result = report(rows, month="2026-10", zone="Europe/Berlin")
    assert result.pools[0].hours_down == 745.0  # October in Berlin: 31 days + the hour the clocks go back
    assert result.pools[0].node_hours == 3 * 745.0


def test_a_weekend_across_the_clock_change_is_49_hours():
    rows = [down("2026-10-24T00:00+02:00"), up("2026-10-26T00:00+01:00")]  # Saturday -> Monday, Berlin
    assert report(rows, month="2026-10", zone="Europe/Berlin").pools[0].hours_down == 49.0


def test_month_range_is_in_the_chosen_zone():
    assert month_range("2026-11", "Asia/Tokyo") == (
        datetime(2026, 10, 31, 15, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
    )


def test_a_missing_up_row_is_estimated_from_the_schedule():
    office = parse(uptime="Mon-Fri 08:00-18:00", timezone="UTC")
    rows = [down("2026-11-10T18:00"), down("2026-11-11T18:00")]  # the up on the 11th was never written
    result = report(rows, now=datetime(2026, 11, 11, 20, 0, tzinfo=UTC), schedules={"project-b": (office, 30)})
    (pool,) = result.pools
    assert pool.hours_down == 13.5 + 2.0  # until 07:30 (08:00 less the 30-minute warm-up), then from 18:00
    assert pool.estimated
    assert any("assumed up at 2026-11-11T07:30:00Z" in note for note in result.notes)


def test_without_a_schedule_a_missing_up_row_is_not_guessed():
    rows = [down("2026-11-10T18:00"), down("2026-11-11T18:00")]
    result = report(rows, now=datetime(2026, 11, 11, 20, 0, tzinfo=UTC))
    assert result.pools[0].hours_down == 2.0
    assert any("not counted" in note for note in result.notes)


def test_a_missing_down_row_is_estimated_from_the_schedule():
    office = parse(uptime="Mon-Fri 08:00-18:00", timezone="UTC")
    result = report([up("2026-11-11T08:00")], schedules={"project-b": (office, 0)})
    assert result.pools[0].hours_down == 14.0 and result.pools[0].estimated
    assert any("assumed down since 2026-11-10T18:00:00Z" in note for note in result.notes)


def test_without_a_schedule_a_missing_down_row_is_only_noted():
    result = report([up("2026-11-11T08:00")])
    assert result.pools == ()
    assert any("no down row before it" in note for note in result.notes)


def test_a_stopped_pool_ran_no_nodes_and_saves_its_count():
    rows = [
        down("2026-11-10T18:00", before="2", after="stopped (2)"),
        up("2026-11-11T08:00", before="stopped (2)", after="2"),
    ]
    assert report(rows).pools[0].node_hours == 28.0


def test_an_autoscaled_pool_saves_the_nodes_it_ran():
    rows = [down("2026-11-10T18:00", before="4 (autoscale 1-5)"), up("2026-11-11T08:00", after="4 (autoscale 1-5)")]
    assert report(rows).pools[0].node_hours == 56.0


def test_a_vm_size_without_a_price_counts_hours_but_no_cost():
    result = report([down("2026-11-10T18:00"), up("2026-11-11T08:00")], vm_sizes={})
    (pool,) = result.pools
    assert (pool.node_hours, pool.cost, pool.price_per_hour) == (42.0, None, None)
    assert result.projects[0].unpriced_pools == ("gpu",)
    assert any("no price" in note for note in result.notes)


def test_projects_add_up_their_pools():
    rows = [
        down("2026-11-10T18:00"),
        up("2026-11-11T08:00"),
        down("2026-11-10T18:00", pool="projecta", before="2", project="project-a"),
        up("2026-11-11T08:00", pool="projecta", after="2", project="project-a"),
    ]
    result = report(rows)
    assert [(p.project, p.node_hours, round(p.cost, 2)) for p in result.projects] == [
        ("project-a", 28.0, 2.8),
        ("project-b", 42.0, 21.0),
    ]


def test_rows_may_be_mappings_with_the_api_field_names():
    rows = [
        {
            "time": at("2026-11-10T18:00"),
            "target": "nodepool/gpu",
            "action": "down",
            "from": "3",
            "to": "0",
            "result": "ok",
            "project": "project-b",
            "cluster": "aks1",
        }
    ]
    events, notes = pool_events(rows)
    assert (events[0].nodes_before, events[0].down, notes) == (3, True, [])


def test_unreadable_pool_values_are_noted_and_skipped():
    events, notes = pool_events([down("2026-11-10T18:00", before="three")])
    assert events == [] and "not readable" in notes[0]


def test_the_report_serialises_to_json():
    data = report([down("2026-11-10T18:00"), up("2026-11-11T08:00")]).as_dict()
    assert json.loads(json.dumps(data))["pools"][0]["node_hours"] == 42.0
    assert data["start"] == "2026-11-01T00:00:00Z" and data["end"] == "2026-12-01T00:00:00Z"


@pytest.mark.parametrize("month", ["2026-13", "Nov 2026", "2026-1", ""])
def test_a_bad_month_is_rejected_with_the_expected_form(month):
    with pytest.raises(SavingsError, match="expected YYYY-MM"):
        month_range(month)


@pytest.mark.parametrize("month", ["0000-01", "9999-12"])
def test_a_month_outside_the_supported_years_is_rejected(month):
    with pytest.raises(SavingsError, match="outside 1970-9000"):
        month_range(month)


def test_a_bad_zone_is_rejected():
    with pytest.raises(SavingsError, match="zone 'Mars/Olympus'"):
        month_range("2026-11", "Mars/Olympus")


def test_the_shipped_price_table_prices_the_sample_sizes():
    table = PriceTable.load()
    for size in ("Standard_NC4as_T4_v3", "Standard_D4s_v5", "Standard_D2s_v5"):
        assert table.hourly(size) > 0
    assert table.currency == "USD" and table.as_of and "list prices" in table.source.lower()


def test_price_lookup_ignores_case():
    assert PRICES.hourly("standard_nc4as_t4_v3") == 0.5


def test_a_negative_price_is_rejected_naming_the_size(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices": {"Standard_D2s_v5": -1}}))
    with pytest.raises(SavingsError, match="prices.Standard_D2s_v5 = -1"):
        PriceTable.load(path)


def test_a_price_table_that_is_not_json_says_where(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text("{prices: }")
    with pytest.raises(SavingsError, match=r"prices.json: not valid JSON at line 1"):
        PriceTable.load(path)


def test_a_naive_now_is_rejected():
    with pytest.raises(SavingsError, match="naive"):
        compute_savings([], month="2026-11", now=datetime(2026, 11, 5), prices=PRICES)


def test_a_pool_down_and_up_before_the_month_is_not_listed():
    assert report([down("2026-10-10T18:00"), up("2026-10-11T08:00")]).pools == ()


def test_events_after_the_cut_are_ignored():
    result = report([down("2026-11-20T18:00"), up("2026-11-21T08:00")], now=datetime(2026, 11, 20, 20, tzinfo=UTC))
    assert result.pools[0].hours_down == 2.0 and result.pools[0].still_down


def test_the_lookback_covers_a_month_long_shutdown():
    from scaling.page.savings import LOOKBACK

    assert timedelta(days=31) <= LOOKBACK
