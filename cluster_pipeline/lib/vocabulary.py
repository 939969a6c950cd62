"""The survey's shared vocabulary, below every area: ingest, contracts, companies, statistics and
publish all speak of the five outcome flags, so they live here, not in one of them (no heavy
imports: the CLI's help lists them)."""

FLAG_DESCRIPTIONS = {
    "new_ideas": "developed new innovative ideas through the cluster",
    "new_competences": "got new competences and tools",
    "new_products": "developed new products, services or processes (an innovation)",
    "partnership_project": "took part in a partnership project with knowledge institutions",
    "international_activity": "took part in international activities through the cluster",
}
FLAGS = list(FLAG_DESCRIPTIONS)  # the five outcome flags, in the template's order
