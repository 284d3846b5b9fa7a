{#- None of these columns is ever null. One query for all of a model's never-null columns:
    one dbt test node per column cost about 40 ms of every build each, for some 190 columns
    (docs/performance.md, 2026-12-04). Returns a row per column that holds nulls, with their
    number. -#}
{% test not_null_columns(model, column_names) %}

with null_counts as (

    select
        {%- for column in column_names %}
        sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
        {{- "," if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in column_names -%}
select '{{ column }}' as column_name, nulls_{{ loop.index }} as null_rows
from null_counts
where nulls_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endtest %}
