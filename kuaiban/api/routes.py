"""Mount every domain's router on the one API instance."""

from kuaiban.api.appeals import router as appeals_router
from kuaiban.api.base import api
from kuaiban.api.petition import router as petition_router
from kuaiban.assessment.api import router as assessment_router
from kuaiban.doors.api import router as doors_router
from kuaiban.enterprise.api import router as enterprise_router
from kuaiban.foresight.api import router as foresight_router
from kuaiban.integrations.api import router as integrations_router
from kuaiban.metrics.api import router as metrics_router
from kuaiban.notify.api import router as notify_router
from kuaiban.org.api import router as org_router
from kuaiban.portal.api import router as portal_router
from kuaiban.projects.api import router as projects_router
from kuaiban.routing.api import router as routing_router
from kuaiban.supervision.api import router as supervision_router
from kuaiban.themes.api import router as themes_router
from kuaiban.visits.api import router as visits_router

api.add_router("/", org_router)
api.add_router("/appeals", appeals_router)
api.add_router("/appeals", petition_router)
# Each domain's router uses full paths below /api/v1/ (e.g. "/metrics", "/extensions").
api.add_router("/", supervision_router)
api.add_router("/", visits_router)
api.add_router("/", metrics_router)
api.add_router("/", routing_router)
api.add_router("/", integrations_router)
api.add_router("/", enterprise_router)
api.add_router("/", projects_router)
api.add_router("/", doors_router)
api.add_router("/", assessment_router)
api.add_router("/", foresight_router)
api.add_router("/", themes_router)
# The public front door (no bearer token, every call throttled): each domain mounts its own
# router at /public (notify: the SMS codes; portal: submitting and following appeals).
api.add_router("/public", notify_router)
api.add_router("/public", portal_router)

__all__ = ["api"]
