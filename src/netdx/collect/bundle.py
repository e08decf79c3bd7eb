"""The shippable collector: one zip that serves two ways of running it.

It holds `netdx/netlink`, `netdx/collect` and an empty `netdx/__init__.py` (the real one
imports the rest of netdx), plus a `__main__.py` at the top. Ansible ships modules the same
way; the target needs nothing but python3.

- As a file: `python3 -I -S bundle.zip [REQUEST | -]` prints one collect document, and
  `python3 -I -S bundle.zip --session` runs a session (`collect.session`) on stdin/stdout.
- Over SSH, with nothing written on the server: the remote python reads one line of
  `BOOTSTRAP` from stdin and runs it; it reads `<N>\n` and N bytes of this zip, imports the
  package from memory through a meta-path finder (zipimport needs a file), and runs the
  session, which reads the request line that follows. `session_input` is that stdin.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent  # src/netdx
_SHIPPED = ("netlink", "collect")
_MAIN = (
    "import sys\n"
    "if sys.argv[1:2] == ['--session']:\n"
    "    from netdx.collect.session import main\n"
    "    main()\n"
    "from netdx.collect.document import main\n"
    "sys.exit(main())\n"
)
_INIT = '"""The part of netdx shipped to a server: netlink and the collector core."""\n'


# Run by the remote python as the first line of its stdin (see the module docstring). Only
# names under `netdx` are served from the zip, so the standard library is never shadowed;
# no bytecode is written and no module gets a file name that does not exist.
BOOTSTRAP = """\
import sys, io, zipfile, importlib.abc, importlib.util
sys.dont_write_bytecode = True
_in = sys.stdin.buffer
_zip = zipfile.ZipFile(io.BytesIO(_in.read(int(_in.readline()))))
_names = frozenset(_zip.namelist())
class _BundleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def _source(self, name):
        base = name.replace(".", "/")
        if name == "netdx" or name.startswith("netdx."):
            for path, package in ((base + "/__init__.py", True), (base + ".py", False)):
                if path in _names:
                    return path, package
        return None, False
    def find_spec(self, name, path=None, target=None):
        source, package = self._source(name)
        if source is None:
            return None
        return importlib.util.spec_from_loader(name, self, is_package=package)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        source, _ = self._source(module.__name__)
        code = compile(_zip.read(source), "<netdx-bundle>/" + source, "exec")
        exec(code, module.__dict__)
sys.meta_path.insert(0, _BundleFinder())
import netdx.collect.session
netdx.collect.session.main()
"""


def bootstrap_line(source: str = BOOTSTRAP) -> bytes:
    """`source` as one line that `exec(sys.stdin.buffer.readline())` runs."""
    return f"exec({source!r})\n".encode()


def session_input(request: dict[str, Any], *, bootstrap: bytes | None = None) -> bytes:
    """Everything netdx writes on the collector's stdin for one session but `go`: the
    bootstrap line, `<N>\\n` + the N bundle bytes, the request as one JSON line."""
    bundle = bundle_bytes()
    return b"".join(
        (
            bootstrap if bootstrap is not None else bootstrap_line(),
            f"{len(bundle)}\n".encode(),
            bundle,
            json.dumps(request, separators=(",", ":")).encode() + b"\n",
        )
    )


@lru_cache(maxsize=1)
def bundle_bytes() -> bytes:
    """The bundle as bytes (deterministic: sorted names, fixed timestamps), built once."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "__main__.py", _MAIN)
        _add(archive, "netdx/__init__.py", _INIT)
        for package in _SHIPPED:
            for source in sorted((_PACKAGE / package).glob("*.py")):
                text = source.read_text(encoding="utf-8")
                _add(archive, f"netdx/{package}/{source.name}", text)
    return buffer.getvalue()


def build_bundle(path: str | Path) -> Path:
    """Write the bundle to `path` and return it."""
    out = Path(path)
    out.write_bytes(bundle_bytes())
    return out


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)
