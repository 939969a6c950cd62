-- National outcomes for the year: distinct companies per flag (each company once, however
-- many clusters it is in), beside the sum of the clusters' own counts (how earlier national
-- reports were built), and the SME splits.
with companies as (
    select * from {{ ref('companies') }} where actor_type = 'company'
),
distinct_counts as (
    select
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
    from companies
),
sums as (
    select
        cast(coalesce(sum(new_ideas), 0) as bigint) as new_ideas_sum_of_clusters,
        cast(coalesce(sum(new_competences), 0) as bigint) as new_competences_sum_of_clusters,
        cast(coalesce(sum(new_products), 0) as bigint) as new_products_sum_of_clusters,
        cast(coalesce(sum(partnership_project), 0) as bigint) as partnership_project_sum_of_clusters,
        cast(coalesce(sum(international_activity), 0) as bigint) as international_activity_sum_of_clusters
    from {{ ref('cluster_outcomes') }}
),
memberships as (
    select count(*) as memberships
    from (select distinct cluster_id, company_id from {{ ref('memberships') }} where actor_type = 'company')
)
select
    companies, companies_sme,
    new_ideas, new_ideas_sme, new_ideas_sum_of_clusters,
    new_competences, new_competences_sme, new_competences_sum_of_clusters,
    new_products, new_products_sme, new_products_sum_of_clusters,
    partnership_project, partnership_project_sme, partnership_project_sum_of_clusters,
    international_activity, international_activity_sme, international_activity_sum_of_clusters,
    memberships
from distinct_counts cross join sums cross join memberships
