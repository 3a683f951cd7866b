"""WSGI entry of the floor (bench/local_server.py serves it with gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

# This entry only ever serves the floor, whatever the parent process had set.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.floor.settings"
application = get_wsgi_application()
