from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.core.tasks import tenant_task


@tenant_task()
def write_marker(marker: str) -> int:
    return AuditEntry.objects.create(action="test.marker", target=marker).pk


def _markers(schema: str, marker: str) -> int:
    with schema_context(schema):
        return AuditEntry.objects.filter(action="test.marker", target=marker).count()


def test_a_task_writes_into_the_schema_it_is_given_and_nowhere_else(acme, globex):
    # apply() runs the task through Celery's tracer, as a worker would, in this process (a
    # worker thread here would fight pytest-django over the test's database connection).
    write_marker.apply(args=["acme", "in-process"]).get()

    assert _markers("acme", "in-process") == 1
    assert _markers("globex", "in-process") == 0
