"""One search document per contact and one trigram index on it, replacing the four per-field
trigram indexes: a search then reads one index instead of OR-ing four (six for two words)."""

import django.db.models.functions.text
from django.db import migrations, models

LIVE = 'WHERE "archived_at" IS NULL'
OLD_FIELDS = ("first_name", "last_name", "email", "company")


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0003_import_progress'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='search_document',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.functions.text.Lower(django.db.models.functions.text.Concat('first_name', models.Value(' '), 'last_name', models.Value(' '), 'email', models.Value(' '), 'company', output_field=models.TextField())), output_field=models.TextField()),
        ),
        migrations.RunSQL(
            sql=[
                'CREATE INDEX "contact_search_trgm" ON "contacts_contact" '
                f'USING gin ("search_document" public.gin_trgm_ops) {LIVE}',
                *[f'DROP INDEX IF EXISTS "contact_{field}_trgm"' for field in OLD_FIELDS],
            ],
            reverse_sql=[
                *[
                    f'CREATE INDEX "contact_{field}_trgm" ON "contacts_contact" '
                    f'USING gin ((UPPER("{field}")) public.gin_trgm_ops) {LIVE}'
                    for field in OLD_FIELDS
                ],
                'DROP INDEX IF EXISTS "contact_search_trgm"',
            ],
        ),
    ]
