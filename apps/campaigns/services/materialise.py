"""Materialisation: the audience becomes pending recipients when the campaign starts, by one
`INSERT ... SELECT` that also resolves every variable in SQL
(apps.campaigns.mapping.values_sql).
"""

from __future__ import annotations

from django.db import connection

from apps.campaigns import mapping as mapping_rules
from apps.campaigns import selectors
from apps.campaigns.models import Campaign

# A recipient id that grows with time, so a million rows inserted in one statement append to
# the primary key's index instead of landing on random pages of it, as random UUIDs do (a
# quarter of materialisation's time at 1M recipients): the statement's start in microseconds
# and 32 random bits, drawn once (an InitPlan), then the row's number in the statement. Per-row
# clock and random calls cost about 2 s per million rows; the row number about half of that.
# Two statements share a prefix only if they start in the same microsecond and draw the same
# random bits (or one inserts over 4 billion rows), and the primary key would refuse that
# rather than duplicate a recipient.
TIME_ORDERED_UUID_SQL = (
    "((SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 16, '0')"
    " || lpad(to_hex((random() * 4294967295)::bigint), 8, '0'))"
    " || lpad(to_hex(row_number() OVER ()), 8, '0'))::uuid"
)


def _materialise(campaign: Campaign, *, skip_handled: bool = False) -> int:
    """Insert one pending recipient per audience contact, variables resolved in SQL. One
    statement whatever the audience size; returns the rows inserted. Runs inside the caller's
    transaction: a failure leaves the campaign as it was. With `skip_handled` (a paused
    campaign gaining a new audience), a phone that already has a recipient in the campaign
    (sent, failed, or in flight) is skipped: it was handled."""
    audience = selectors.campaign_audience_contacts(campaign=campaign)
    if audience.query.is_empty():
        return 0
    # The audience's own SELECT (every contact column) as the derived table `c` the mapping's
    # SQL refers to; PostgreSQL folds it into the INSERT's scan. At the start no ON CONFLICT:
    # a phone belongs to one live contact (a unique index), so the audience has each phone
    # once, and the (campaign, phone) constraint still refuses the impossible duplicate. A
    # paused campaign's new audience may name phones it has already handled: that insert
    # leaves them to the rows they have. The conflict target names the columns, not the
    # constraint: workspaces do not all give that constraint the same name.
    audience_sql, audience_params = audience.order_by().query.sql_with_params()
    on_conflict = " ON CONFLICT (campaign_id, phone) DO NOTHING" if skip_handled else ""
    values_expr, values_params = mapping_rules.values_sql(campaign.variable_mapping)
    with connection.cursor() as cursor:
        # Room to hash a million group members in memory rather than in batches on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            "INSERT INTO campaigns_campaignrecipient "  # noqa: S608
            "(id, campaign_id, contact_id, phone, variables, status, attempts, error_code,"
            " error_message, created_at) "
            f"SELECT {TIME_ORDERED_UUID_SQL}, %s, c.id, c.phone, {values_expr}, 'pending', 0,"
            f" '', '', now() FROM ({audience_sql}) c{on_conflict}",
            [campaign.pk, *values_params, *audience_params],
        )
        return cursor.rowcount
