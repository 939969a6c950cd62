{#- Distinct companies in total, among SMEs, and per outcome flag (in total and among SMEs),
    over one row per company with columns sme and the five flags. -#}
{% macro flag_counts() %}
        count(*) as companies,
        count(*) filter (where sme) as companies_sme,
        {% for flag in flags %}
        count(*) filter (where {{ flag }}) as {{ flag }},
        count(*) filter (where {{ flag }} and sme) as {{ flag }}_sme{{ "," if not loop.last }}
        {% endfor %}
{% endmacro %}
