"""The comparisons impact_estimates publishes, by the method name its rows carry (what each
compares is in the table's YAML, dbt_like_sql/tables/impact_estimates.yml)."""

NAIVE = "naive"
MATCHED = "matched"  # the headline: against similar non-participating firms
