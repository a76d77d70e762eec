"""The search index gains two word columns in front of its trigrams: the search document's
words, and the words of the document reversed (see `SearchWords` and `search_q`).

A term with punctuation or spaces in it ("priya iyer", "user.777777@", "company 12345") has
whole words, word prefixes and word suffixes that every matching contact must hold, and those
are often far rarer than any of the term's trigrams. Trigrams stay for terms of one piece.
The word columns come first because GIN scans an index's conditions in column order, and the
rarest ones should lead. One index rather than two keeps one search index to maintain.
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
    f"({WORDS.format(DOCUMENT)}), ({WORDS.format(f'reverse({DOCUMENT})')}), "
    f"{DOCUMENT} public.gin_trgm_ops) {LIVE}",
]
backward = [
    'DROP INDEX IF EXISTS "contact_search_trgm"',
    'CREATE INDEX "contact_search_trgm" ON "contacts_contact" '
    f'USING gin ("search_document" public.gin_trgm_ops) {LIVE}',
]


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_search_document")]

    operations = [migrations.RunSQL(sql=forward, reverse_sql=backward)]
