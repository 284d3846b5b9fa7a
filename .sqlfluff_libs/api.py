"""dbt's `api.Relation.create` for SQLFluff's jinja templater (.sqlfluff)."""


class Relation:
    @staticmethod
    def create(database: str | None = None, schema: str | None = None, identifier: str = "") -> str:
        return ".".join(part for part in (database, schema, identifier) if part)
