-- What this table means, column by column: cluster_outcomes.yml beside this file.
with company_rows as (
    select m.cluster_id, m.company_id, c.sme, {% for flag in flags %}m.{{ flag }}{{ ", " if not loop.last }}{% endfor %}
    from {{ ref('memberships') }} as m
    join {{ ref('companies') }} as c using (company_id)
    where m.actor_type = 'company'
),
per_company as (
    -- a company listed twice in one cluster counts once; a flag holds if any of its rows says so
    select cluster_id, company_id, bool_or(coalesce(sme, false)) as sme,
        {% for flag in flags %}bool_or({{ flag }}) as {{ flag }}{{ "," if not loop.last }}
        {% endfor %}
    from company_rows
    group by cluster_id, company_id
),
counted as (
    select
        cluster_id,
        {{ flag_counts() }}
    from per_company
    group by cluster_id
)
select
    p.cluster_id,
    coalesce(companies, 0) as companies,
    coalesce(companies_sme, 0) as companies_sme,
    {% for flag in flags %}
    coalesce({{ flag }}, 0) as {{ flag }},
    coalesce({{ flag }}_sme, 0) as {{ flag }}_sme{{ "," if not loop.last }}
    {% endfor %}
from {{ ref('accepted_profiles') }} as p
left join counted using (cluster_id)
order by p.cluster_id
