"""The Content-Security-Policy of every response Django sends (django-csp; SECURITY.md).

The policy itself is CONTENT_SECURITY_POLICY in the settings: scripts, styles, images, fonts and
connections from this origin only, no inline script or style, no plugins, no framing. This adds what
the settings cannot know: the WebSocket origins of the host the page was asked under (`ws://host` over
http, `wss://host` over https), which browsers that predate CSP level 3 do not count as 'self'.

Per-view exceptions use django-csp's decorators; the one today is the charts page (`plotly_styles`).
"""

from __future__ import annotations

from typing import Final

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

# plotly.js writes its own stylesheet into the page (<style> elements of its hover, modebar and
# layout rules) and sets style attributes on the nodes it draws, all built at run time: no nonce
# reaches them and no hash can be known. So the page that draws with it admits inline styles (in
# style-src-elem and style-src-attr: style-src itself keeps its hash, beside which browsers would
# ignore 'unsafe-inline'), and inline scripts stay refused. Its server-rendered HTML still has no
# style attribute (tests/core/test_csp.py).
PLOTLY_STYLE_EXCEPTION: Final = {"style-src-elem": [SELF, UNSAFE_INLINE], "style-src-attr": [UNSAFE_INLINE]}
plotly_styles = csp_update(PLOTLY_STYLE_EXCEPTION)


class SiteCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request=request, response=response, report_only=report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts  # answered 400 before any page; 'self' is all it gets
        socket = f"{'wss' if request.is_secure() else 'ws'}://{host}"
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", ()), socket]
        parts.update = update
        return parts
