-- What this table means, column by column: national_outcomes.yml beside this file.
with companies as (
    select * from {{ ref('companies') }} where actor_type = 'company'
),
distinct_counts as (
    select
        {{ flag_counts() }}
    from companies
),
sums as (
    select
        {% for flag in flags %}
        cast(coalesce(sum({{ flag }}), 0) as bigint) as {{ flag }}_sum_of_clusters{{ "," if not loop.last }}
        {% endfor %}
    from {{ ref('cluster_outcomes') }}
),
memberships as (
    select count(*) as memberships
    from (select distinct cluster_id, company_id from {{ ref('memberships') }} where actor_type = 'company')
)
select
    companies, companies_sme,
    {% for flag in flags %}{{ flag }}, {{ flag }}_sme, {{ flag }}_sum_of_clusters,
    {% endfor %}memberships
from distinct_counts cross join sums cross join memberships
