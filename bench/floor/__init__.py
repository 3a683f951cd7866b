"""The floor: a minimal Django project that bench/run.py measures beside OpenIPT's pages."""
