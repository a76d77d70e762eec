"""PostgreSQL extensions, created once in the public schema: tenant schemas keep `public` on
their search path, so the operators and index classes are visible to every workspace."""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
