import importlib
import sys

import pytest

from guardintent import MissingExtraError
from guardintent.cli import main


@pytest.mark.parametrize(
    ("module", "dependency", "extra"),
    [
        ("guardintent.integrations.langchain", "langchain.agents.middleware", "langchain"),
        ("guardintent.server", "fastapi", "server"),
        ("guardintent.integrations.ray", "ray", "ray"),
    ],
)
def test_missing_extra_names_install(monkeypatch, module, dependency, extra):
    # A None entry in sys.modules makes `import dependency` raise ImportError.
    monkeypatch.setitem(sys.modules, dependency, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(MissingExtraError, match=rf"pip install 'guardintent\[{extra}\]'"):
        importlib.import_module(module)


def test_serve_without_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.delitem(sys.modules, "guardintent.server", raising=False)
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "`guardintent serve` needs the optional [server] dependencies" in error
