-- What this table means, column by column: service_intensity.yml beside this file.
with per_membership as (
    select company_id, cluster_id,
        max(services_used) as services_used,
        bool_or(services_used is null) as unknown
    from {{ ref('memberships') }}
    where actor_type = 'company'
    group by company_id, cluster_id
),
per_company as (
    select company_id, sum(services_used) as services_used, bool_or(unknown) as unknown
    from per_membership
    group by company_id
),
bands as (
    select band, cast(low as integer) as low, cast(high as integer) as high,
        row_number() over (order by cast(low as integer)) as band_order
    from {{ ref('service_bands') }}
),
banded as (
    select c.*, case when p.unknown then 'unknown' else b.band end as band
    from per_company as p
    join {{ ref('companies') }} as c using (company_id)
    left join bands as b on not p.unknown and p.services_used >= b.low and (b.high is null or p.services_used <= b.high)
),
all_bands as (
    select band, band_order from bands
    union all
    select
        'unknown' as band,
        (select count(*) + 1 from bands) as band_order
),
counted as (
    select band, count(*) as companies,
        {% for flag in flags %}count(*) filter (where {{ flag }}) as {{ flag }}{{ "," if not loop.last }}
        {% endfor %}
    from banded
    group by band
)
select
    a.band,
    coalesce(companies, 0) as companies,
    {% for flag in flags %}
    coalesce({{ flag }}, 0) as {{ flag }},
    {{ flag }} / nullif(companies, 0) as {{ flag }}_share{{ "," if not loop.last }}
    {% endfor %}
from all_bands as a
left join counted using (band)
where exists (select 1 from {{ ref('memberships') }} where services_used is not null)
order by a.band_order
