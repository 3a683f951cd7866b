"""``{% csrf_token %}`` that also carries a one-time submission token.

Registered as a template builtin (config/settings.py), so it takes the place of Django's own
tag in every template: every POST form of OpenIPT — ours and the sign-in pages' — gets the
CSRF field and a fresh ``_submission`` token without anyone having to remember it. What the
token is for: openipt/core/submissions.py.
"""

from __future__ import annotations

import secrets

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html

from openipt.core.submissions import FIELD

register = template.Library()


class CsrfAndSubmissionNode(template.Node):
    def render(self, context: Context) -> str:
        csrf: str = CsrfTokenNode().render(context)
        if not csrf:  # no CSRF token in this context: not a form page
            return csrf
        token = secrets.token_urlsafe(16)
        return format_html('{}<input type="hidden" name="{}" value="{}">', csrf, FIELD, token)


@register.tag("csrf_token")
def csrf_token(parser: Parser, token: Token) -> CsrfAndSubmissionNode:
    return CsrfAndSubmissionNode()
