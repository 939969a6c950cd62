-- Outcomes per cluster: the distinct companies in each cluster with a profile (zero counts
-- included), and per flag the companies whose membership of that cluster reports it,
-- in total and among SMEs.
with company_rows as (
    select m.cluster_id, m.company_id, c.sme,
           m.new_ideas, m.new_competences, m.new_products, m.partnership_project, m.international_activity
    from {{ ref('memberships') }} as m
    join {{ ref('companies') }} as c using (company_id)
    where m.actor_type = 'company'
),
per_company as (
    -- a company listed twice in one cluster counts once; a flag holds if any of its rows says so
    select cluster_id, company_id, bool_or(coalesce(sme, false)) as sme,
           bool_or(new_ideas) as new_ideas, bool_or(new_competences) as new_competences,
           bool_or(new_products) as new_products, bool_or(partnership_project) as partnership_project,
           bool_or(international_activity) as international_activity
    from company_rows
    group by cluster_id, company_id
),
counted as (
    select
        cluster_id,
        count(*) as companies,
        count(*) filter (where sme) as companies_sme,
        count(*) filter (where new_ideas) as new_ideas,
        count(*) filter (where new_ideas and sme) as new_ideas_sme,
        count(*) filter (where new_competences) as new_competences,
        count(*) filter (where new_competences and sme) as new_competences_sme,
        count(*) filter (where new_products) as new_products,
        count(*) filter (where new_products and sme) as new_products_sme,
        count(*) filter (where partnership_project) as partnership_project,
        count(*) filter (where partnership_project and sme) as partnership_project_sme,
        count(*) filter (where international_activity) as international_activity,
        count(*) filter (where international_activity and sme) as international_activity_sme
    from per_company
    group by cluster_id
)
select
    p.cluster_id,
    coalesce(companies, 0) as companies, coalesce(companies_sme, 0) as companies_sme,
    coalesce(new_ideas, 0) as new_ideas, coalesce(new_ideas_sme, 0) as new_ideas_sme,
    coalesce(new_competences, 0) as new_competences, coalesce(new_competences_sme, 0) as new_competences_sme,
    coalesce(new_products, 0) as new_products, coalesce(new_products_sme, 0) as new_products_sme,
    coalesce(partnership_project, 0) as partnership_project, coalesce(partnership_project_sme, 0) as partnership_project_sme,
    coalesce(international_activity, 0) as international_activity,
    coalesce(international_activity_sme, 0) as international_activity_sme
from {{ ref('accepted_profiles') }} as p
left join counted using (cluster_id)
order by p.cluster_id
