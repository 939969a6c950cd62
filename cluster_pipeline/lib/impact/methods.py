"""The comparisons impact_estimates publishes, by the method name its rows carry (what each
compares is in the table's YAML, dbt_like_sql/tables/impact_estimates.yml)."""

NAIVE = "naive"
MATCHED = "matched"  # the headline: against similar non-participating firms
PLACEBO = "placebo"  # the growth design on years before anyone took part: should find nothing
CALLAWAY_SANTANNA = "callaway_santanna"  # staggered adoption: group-time effects of joining (growth)
FIXED_EFFECTS = "fixed_effects"  # the event study's one regression with industry-by-year effects

# the rows that say whether the effect rises with the services used: group_by services_band,
# this group, and the estimand's name with this suffix (per service used)
SLOPE = "slope"
PER_SERVICE = "_per_service"
