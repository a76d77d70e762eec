from tests.whatsapp.fixtures import (  # noqa: F401  (fixtures)
    cloud_account,
    fake_graph,
    fake_graph_server,
    sandbox_account,
)
