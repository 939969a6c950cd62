-- What this table means, column by column: clusters.yml beside this file.
with thresholds as (
    select
        max(case when name = 'min_committed_companies' then cast(value as integer) end) as min_committed_companies,
        max(case when name = 'min_staff_fte' then cast(value as double) end) as min_staff_fte
    from {{ ref('thresholds') }}
),
composition as (
    select
        cluster_id,
        count(distinct case when actor_type = 'company' then company_id end) as companies,
        count(distinct case when actor_type = 'company' and committed_member then company_id end)
            as committed_companies,
        count(distinct case when actor_type = 'knowledge_institution' then company_id end) as knowledge_institutions,
        count(distinct case when actor_type = 'public_actor' then company_id end) as public_actors
    from {{ ref('memberships') }}
    group by cluster_id
),
catalogue as (
    select
        p.cluster_id,
        p.cluster_name,
        p.region_code,
        p.label,
        cast(p.label_valid_until as date) as label_valid_until,
        coalesce(p.label in ('gold', 'silver', 'bronze')
                 and cast(p.label_valid_until as date) >= make_date({{ year }}, 12, 31), false) as label_valid,
        p.staff_fte,
        coalesce(c.companies, 0) as companies,
        coalesce(c.committed_companies, 0) as committed_companies,
        coalesce(c.knowledge_institutions, 0) as knowledge_institutions,
        coalesce(c.public_actors, 0) as public_actors
    from {{ ref('accepted_profiles') }} as p
    left join composition as c using (cluster_id)
),
judged as (
    select
        catalogue.*,
        companies > 0 and knowledge_institutions > 0 and public_actors > 0 as triple_helix,
        list_filter([
            case when committed_companies < t.min_committed_companies then 'committed_companies' end,
            case when not (companies > 0 and knowledge_institutions > 0 and public_actors > 0) then 'triple_helix' end,
            case when staff_fte < t.min_staff_fte then 'staff_fte' end,
            case when not (label_valid or label = 'in_process') then 'label' end
        ], lambda x: x is not null) as eligibility_failures
    from catalogue cross join thresholds as t
)
select
    cluster_id, cluster_name, region_code, label, label_valid_until, label_valid, staff_fte,
    companies, committed_companies, knowledge_institutions, public_actors, triple_helix,
    len(eligibility_failures) = 0 as eligible,
    eligibility_failures
from judged
order by cluster_id
