{#-
    A list (array) of texts sorted ascending, an empty list for a null one: list columns an
    analyst compares or groups by (an agent's call center ids) then mean the same set the same
    way. dbt has no cross-database macro for it.
-#}
{% macro sorted_text_list(list_expression) -%}
    {{ return(adapter.dispatch('sorted_text_list')(list_expression)) }}
{%- endmacro %}

{% macro default__sorted_text_list(list_expression) -%}
    coalesce(array(select element from unnest({{ list_expression }}) as element order by element), array[]::{{ dbt.type_string() }}[])
{%- endmacro %}

{% macro duckdb__sorted_text_list(list_expression) -%}
    coalesce(list_sort({{ list_expression }}), []::varchar[])
{%- endmacro %}

{% macro spark__sorted_text_list(list_expression) -%}
    coalesce(array_sort({{ list_expression }}), cast(array() as array<string>))
{%- endmacro %}
