"""Renderers: each turns a finished Report into text and computes nothing.

The names below are re-exported lazily (PEP 562): the terminal text of a check imports
neither the JSON codec nor the Markdown renderer. The terminal renderer imports rich lazily,
inside the function, so `netdx --help` stays fast.
"""


from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.render.json import report_document, to_json
    from netdx.render.markdown import to_markdown
    from netdx.render.terminal import STATUS_ICONS, render_terminal

__all__ = ["STATUS_ICONS", "render_terminal", "report_document", "to_json", "to_markdown"]

_LAZY = {
    "STATUS_ICONS": "netdx.render.terminal",
    "render_terminal": "netdx.render.terminal",
    "report_document": "netdx.render.json",
    "to_json": "netdx.render.json",
    "to_markdown": "netdx.render.markdown",
}

__getattr__ = lazy_exports(__name__, _LAZY)
