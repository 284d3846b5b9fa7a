{#- Milliseconds from start_at to end_at, as BIGINT (negative when end_at is earlier). -#}
{% macro ms_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, 'millisecond') }} as {{ dbt.type_bigint() }})
{%- endmacro %}
