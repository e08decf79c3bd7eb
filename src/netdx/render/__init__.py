"""Renderers: each turns a finished Report into text and computes nothing.

The terminal renderer imports rich lazily, inside the function, so `netdx --help` stays fast.
"""

from netdx.render.json import report_document, to_json
from netdx.render.markdown import to_markdown
from netdx.render.terminal import STATUS_ICONS, render_terminal

__all__ = ["STATUS_ICONS", "render_terminal", "report_document", "to_json", "to_markdown"]
