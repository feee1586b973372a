"""WSGI entry point for `kuaiban serve` (Granian) or any other WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")
application = get_wsgi_application()
