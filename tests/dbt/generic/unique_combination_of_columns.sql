{#- The columns together identify a row (a composite key): no two rows share all their values. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with duplicated_keys as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1

)

select * from duplicated_keys

{% endtest %}
