{#-
    The number of elements of a list (array) column; null, or -1 on Spark's legacy setting, for
    a null list: compare it with `> 0` to ask "is the list non-empty". dbt has no cross-database
    macro for it.
-#}
{% macro list_length(list_expression) -%}
    {{ return(adapter.dispatch('list_length')(list_expression)) }}
{%- endmacro %}

{% macro default__list_length(list_expression) -%}
    array_length({{ list_expression }}, 1)
{%- endmacro %}

{% macro duckdb__list_length(list_expression) -%}
    len({{ list_expression }})
{%- endmacro %}

{% macro spark__list_length(list_expression) -%}
    size({{ list_expression }})
{%- endmacro %}
