"""The whole system as processes, shared by every test of a module that does
not need one to itself (such a module defines its own `system`)."""
import pytest

from tests.harness import Processes


@pytest.fixture(scope="module")
def broker(module_bus):
    return module_bus


@pytest.fixture(scope="module")
def system(module_bus, tmp_path_factory, request):
    name = request.module.__name__.rsplit(".", 1)[-1]
    processes = Processes(module_bus.bootstrap_servers, tmp_path_factory.mktemp(name) / "data").start()
    yield processes
    processes.stop()
