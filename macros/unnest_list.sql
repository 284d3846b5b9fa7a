{#- One output row per element of a list column, used in a select list:
    `select leg_id, {{ unnest_list('recording_urls') }} as recording_url from events`. -#}
{% macro unnest_list(list_column) -%}
    {{ return(adapter.dispatch('unnest_list')(list_column)) }}
{%- endmacro %}

{% macro default__unnest_list(list_column) -%}
    unnest({{ list_column }})
{%- endmacro %}

{% macro spark__unnest_list(list_column) -%}
    explode({{ list_column }})
{%- endmacro %}
