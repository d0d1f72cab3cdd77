"""A trigram index for the contacts search box, on PostgreSQL only.

`search_text LIKE '%ana gar%'` cannot use a B-tree; with `pg_trgm` it uses this GIN index, so a
search stays fast in an account with hundreds of thousands of contacts. SQLite (`make run`)
scans, which is fine at its scale. Where the database role may not create extensions, the
migration goes on without the index (searches still work, only slower).
"""

from django.db import migrations, transaction
from django.db.utils import DatabaseError

INDEX = "contact_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except DatabaseError:
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON contacts_contact USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_imports_sync_search")]

    operations = [migrations.RunPython(create_index, drop_index)]
