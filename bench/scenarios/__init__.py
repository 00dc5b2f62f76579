"""Scenarios shared by bench/ and the tests: a newcomer's fresh clone of the project (clone.py) and a
generated Vite-like UI site with its bucket and distribution (ui_site.py). bench/ imports these,
never test modules; the tests import them too."""
