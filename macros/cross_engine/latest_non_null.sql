{#-
    Aggregate: the value of `value_expression` on the row with the largest `order_expression`
    among the rows where the value is not null (null when there is none). Ties on the order
    pick any of them: give an order that has none (for example an event sequence).

    DuckDB's arg_max already skips rows whose value is null; Spark's max_by does not (the
    latest row wins even when its value is null), so there the order is nulled out on such
    rows, and max_by skips rows whose order is null. No model uses it yet: the models read
    the latest value with max(case when sequence = latest sequence ...), which both engines
    agree on; tests/dbt/assert_latest_non_null_skips_nulls.sql pins both implementations.
-#}
{% macro latest_non_null(value_expression, order_expression) -%}
    {{ return(adapter.dispatch('latest_non_null')(value_expression, order_expression)) }}
{%- endmacro %}

{% macro default__latest_non_null(value_expression, order_expression) -%}
    arg_max({{ value_expression }}, {{ order_expression }})
{%- endmacro %}

{% macro spark__latest_non_null(value_expression, order_expression) -%}
    max_by(
        {{ value_expression }},
        case when {{ value_expression }} is not null then {{ order_expression }} end
    )
{%- endmacro %}
