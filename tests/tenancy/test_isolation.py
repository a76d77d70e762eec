from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry


def test_a_row_written_in_acme_is_invisible_from_globex(acme, globex):
    with schema_context(acme.schema_name):
        AuditEntry.objects.create(action="isolation.check", target="acme-only")

    with schema_context(globex.schema_name):
        assert not AuditEntry.objects.filter(target="acme-only").exists()
    with schema_context(acme.schema_name):
        assert AuditEntry.objects.filter(target="acme-only").count() == 1


def test_the_public_schema_has_no_tenant_tables(acme):
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name = 'audit_auditentry'"
        )
        assert cursor.fetchone()[0] == 0
