"""The console's pages, one module per section; ``router.py`` lists their routes."""
