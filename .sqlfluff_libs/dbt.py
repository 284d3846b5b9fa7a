"""dbt's cross-database macros (`dbt.*`) as dbt-duckdb renders them, for SQLFluff's jinja
templater (.sqlfluff): lint renders the DuckDB SQL without a dbt compile."""


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def type_boolean() -> str:
    return "boolean"


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def current_timestamp() -> str:
    return "now()"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def bool_or(expression: str) -> str:
    return f"bool_or({expression})"


def length(expression: str) -> str:
    return f"length({expression})"


def generate_series(upper_bound: int) -> str:
    return f"select generated_number from generate_series(1, {upper_bound}) as s (generated_number)"
