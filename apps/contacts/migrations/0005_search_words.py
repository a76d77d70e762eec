"""The search index gains a word column in front of its trigrams: the search document's words
(see `SearchWords` and `search_q`).

A term with punctuation or spaces in it ("user.777777@", "company 12345") has whole words and
a word prefix that every matching contact must hold, and those are often far rarer than any of
the term's trigrams. Trigrams stay for terms of one piece. A search reads one column or the
other (see `apps.contacts.selectors._substring_q`); one index rather than two keeps one search
index to maintain.
"""

from django.db import migrations

LIVE = 'WHERE "archived_at" IS NULL'
# Exactly `apps.contacts.models.SearchWords`, frozen here as migrations are.
WORDS = (
    "array_to_tsvector(array_remove(regexp_split_to_array({}, "
    "'[^0-9A-Za-z\\u0080-\\U0010FFFF]+'), ''))"
)

DOCUMENT = '"search_document"'

forward = [
    'DROP INDEX IF EXISTS "contact_search_trgm"',
    'CREATE INDEX "contact_search_trgm" ON "contacts_contact" USING gin ('
    f"({WORDS.format(DOCUMENT)}), {DOCUMENT} public.gin_trgm_ops) {LIVE}",
]
backward = [
    'DROP INDEX IF EXISTS "contact_search_trgm"',
    'CREATE INDEX "contact_search_trgm" ON "contacts_contact" '
    f'USING gin ("search_document" public.gin_trgm_ops) {LIVE}',
]


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_search_document")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward)]
