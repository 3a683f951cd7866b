"""Migrate the floor's database and open a signed-in session for its one user.

Run by bench/run.py as ``python -m bench.floor.prepare`` from the repository root, with
``DJANGO_SETTINGS_MODULE=bench.floor.settings``. Prints one line of JSON: the session
cookie and the user name the page shows. The session is made directly in the session
store, as bench/run.py does for OpenIPT's clinicians; the user has no usable password.
"""

from __future__ import annotations

import json

USERNAME = "floor"


def main() -> None:
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    user = User.objects.filter(username=USERNAME).first()
    if user is None:
        user = User(username=USERNAME)
        user.set_unusable_password()
        user.save()
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={store.session_key}"
    print(json.dumps({"cookie": cookie, "username": USERNAME}))


if __name__ == "__main__":
    main()
