import pytest

from tests.whatsapp.fixtures import (  # noqa: F401  (fixtures)
    cloud_account,
    fake_graph,
    fake_graph_server,
    sandbox_account,
)


@pytest.fixture(autouse=True)
def fresh_route_cache():
    from apps.messaging import services

    services._route_cache.clear()
    yield
    services._route_cache.clear()
