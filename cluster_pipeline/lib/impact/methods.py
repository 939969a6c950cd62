"""The comparisons impact_estimates publishes, by the method name its rows carry (what each
compares is in the table's YAML, dbt_like_sql/tables/impact_estimates.yml)."""

NAIVE = "naive"
MATCHED = "matched"  # the headline: against similar non-participating firms

# the rows that say whether the effect rises with the services used: group_by services_band,
# this group, and the estimand's name with this suffix (per service used)
SLOPE = "slope"
PER_SERVICE = "_per_service"
