"""Search indexes on live contacts.

Django's `icontains` compares `UPPER(column)`, so the trigram indexes are on that expression;
`gin_trgm_ops` comes from pg_trgm in the public schema. The phone index uses pattern ops so a
prefix match (`LIKE '+9199%'`) can use it whatever the database collation.
"""

from django.db import migrations

LIVE = 'WHERE "archived_at" IS NULL'
TRIGRAM_FIELDS = ("first_name", "last_name", "email", "company")

forward = [
    *[
        f'CREATE INDEX "contact_{field}_trgm" ON "contacts_contact" '
        f'USING gin ((UPPER("{field}")) public.gin_trgm_ops) {LIVE}'
        for field in TRIGRAM_FIELDS
    ],
    f'CREATE INDEX "contact_phone_prefix" ON "contacts_contact" '
    f'("phone" varchar_pattern_ops) {LIVE}',
    f'CREATE INDEX "contact_custom_fields_gin" ON "contacts_contact" '
    f'USING gin ("custom_fields" jsonb_path_ops) {LIVE}',
]
backward = [
    *[f'DROP INDEX IF EXISTS "contact_{field}_trgm"' for field in TRIGRAM_FIELDS],
    'DROP INDEX IF EXISTS "contact_phone_prefix"',
    'DROP INDEX IF EXISTS "contact_custom_fields_gin"',
]


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward)]
