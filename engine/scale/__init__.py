"""Beyond one laptop (the optional ``scale`` extra): bulk ingestion on a Ray cluster.

Kept apart from the desktop engine because it needs Ray (``pip install 'satchel[scale]'``), which
the desktop bundle does not ship: nothing outside this package imports Ray, and the modules here
import it inside functions, so importing them without Ray installed is harmless.
"""
