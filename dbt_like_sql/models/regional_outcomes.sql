-- What this table means, column by column: regional_outcomes.yml beside this file.
with regions as (
    select distinct region_code, region_name from {{ ref('municipalities') }}
),
companies as (
    select * from {{ ref('companies') }} where actor_type = 'company'
),
per_region as (
    select
        r.region_code, r.region_name,
        count(c.company_id) as companies,
        {% for flag in flags %}
        count(c.company_id) filter (where c.{{ flag }}) as {{ flag }}{{ "," if not loop.last }}
        {% endfor %}
    from regions as r
    left join companies as c on c.region_code = r.region_code
    group by r.region_code, r.region_name
),
nation as (
    select sum(companies) as companies, sum(new_products) as new_products from per_region
)
select
    p.region_code, p.region_name, p.companies,
    {% for flag in flags %}p.{{ flag }}, {% endfor %}
    case when p.companies > 0 then p.new_products / p.companies end as share_innovating,
    case when p.companies > 0 and n.new_products > 0
         then (p.new_products / n.new_products) / (p.companies / n.companies) end as location_quotient
from per_region as p cross join nation as n
order by p.region_code
