"""MkDocs hook: docstrings use Sphinx roles (:func:`train`) and reST's ``::``
before a literal block; on the site they read as plain code and a colon."""

import re

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):(?=<code>)")
_LITERAL = re.compile(r"::(</p>)")


def on_page_content(html, **kwargs):
    return _LITERAL.sub(r":\1", _ROLE.sub("", html))
