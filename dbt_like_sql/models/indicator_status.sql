-- What this table means, column by column: indicator_status.yml beside this file.
-- An indicator is a row of the indicator_targets seed; its measure is a row of `measures` below.
with targets as (
    select
        indicator_id, title, measure,
        cast(target as double) as target,
        cast(nullif(max_value, '') as double) as max_value,
        cast(nullif(baseline, '') as double) as baseline,
        cast(nullif(baseline_year, '') as integer) as baseline_year,
        cast(target_year as integer) as target_year
    from {{ ref('indicator_targets') }}
),
national as (select * from {{ ref('national_outcomes') }}),
regional as (select * from {{ ref('regional_outcomes') }} where location_quotient is not null),
lowest as (select region_name, location_quotient from regional order by location_quotient, region_code limit 1),
highest as (select region_name, location_quotient from regional order by location_quotient desc, region_code limit 1),
labels as (
    select count(*) filter (where label_valid and label = 'gold') as gold_labels,
           count(*) filter (where label_valid and label = 'silver') as silver_labels
    from {{ ref('clusters') }}
),
-- one row per measure, aligned as a table (the first row names the columns)
measures as ( -- noqa: disable=AL03,AL08,LT05,LT11
    select 'new_products' as measure, cast(new_products as double) as value, null::double as highest, null as detail from national
    union all select 'partnership_project', partnership_project, null, null from national
    union all select 'international_activity', international_activity, null, null from national
    union all select 'gold_labels', gold_labels, null, printf('%d clusters with a gold label valid on 31 December', gold_labels) from labels
    union all select 'silver_labels', silver_labels, null, printf('%d clusters with a silver label valid on 31 December', silver_labels) from labels
    union all
    select 'lowest_location_quotient', l.location_quotient, h.location_quotient,
           printf('lowest %.2f (%s), highest %.2f (%s)', l.location_quotient, l.region_name, h.location_quotient, h.region_name)
    from lowest as l cross join highest as h -- noqa: enable=all
),
scored as (
    select
        t.*, m.value, m.highest, m.detail as measure_detail,
        case when t.baseline is not null and {{ year }} <= t.target_year
             then t.baseline + (t.target - t.baseline) * greatest({{ year }} - t.baseline_year, 0)
                  / (t.target_year - t.baseline_year) end as trajectory
    from targets as t
    left join measures as m using (measure)
)
select
    indicator_id,
    title,
    value,
    target,
    baseline,
    baseline_year,
    case
        when value is null then 'not_met'
        when value >= target and (max_value is null or highest <= max_value) then 'met'
        when trajectory is not null and value >= trajectory then 'on_track'
        else 'not_met'
    end as status,
    concat_ws('; ',
        measure_detail,
        case when max_value is not null then printf('no region may be above %.1f', max_value) end,
        case when trajectory is not null then printf('straight line from the %d baseline to the %d target: %.0f in %d',
                                                     baseline_year, target_year, trajectory, {{ year }}) end,
        case when value is null then 'no data' end
    ) as detail
from scored
order by indicator_id
