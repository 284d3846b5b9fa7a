"""dbt's `adapter.dispatch` for SQLFluff's jinja templater (.sqlfluff): the project's
`duckdb__` implementation of a macro, else its `default__` one."""

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise LookupError(f"no duckdb__ or default__ implementation of {macro_name}")
