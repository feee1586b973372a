"""The enterprise endpoints under /api/v1/ (full paths: "/enterprises", "/meetings" ...).

Thin: parse, call one service or selector, render. Importing the modules registers their routes.
"""

from kuaiban.enterprise.api import meetings, networks, policies, registry
from kuaiban.enterprise.api.common import router

__all__ = ["meetings", "networks", "policies", "registry", "router"]
