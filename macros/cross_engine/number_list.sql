{#- The list [0, 1, ..., count - 1] of BIGINT (`count` SQL, at least 1): with unnest_list, one
    row per number, as many as each row needs (no fixed-size series to cross join). -#}
{% macro number_list(count) -%}
    {{ return(adapter.dispatch('number_list')(count)) }}
{%- endmacro %}

{% macro default__number_list(count) -%}
    range(0, cast({{ count }} as {{ dbt.type_bigint() }}))
{%- endmacro %}

{% macro spark__number_list(count) -%}
    sequence(cast(0 as bigint), cast({{ count }} as bigint) - 1)
{%- endmacro %}
