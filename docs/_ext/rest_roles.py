"""A griffe extension for the docs build: reST markup in docstrings, as Markdown.

The SDK's docstrings are written for reading in an editor and in ``help()``: reST roles
(:class:`LocalMattermost`) and ``Example::`` before a literal block. mkdocstrings renders
docstrings as Markdown, so this rewrites both while the site is built; the docstrings
themselves stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :class:`X`, :func:`~a.b.c`, :data:`X` … → `X` (the last part, as Sphinx shows ~names).
ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|obj|exc|const):`~?([^`]+)`")
# "Example::" at the end of a line introduces a literal block: keep one colon.
LITERAL = re.compile(r"(?<=\S)::$", re.MULTILINE)


def markdown(text: str) -> str:
    text = ROLE.sub(lambda m: f"`{m[1].rsplit('.', 1)[-1] if '~' in m[0] else m[1]}`", text)
    return LITERAL.sub(":", text)


class RestRoles(griffe.Extension):
    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
