"""The dashboard (``panopticon serve``): change a scheme in the browser, run it, read what it did.

``edits`` turns the page's controls into a validated scenario, ``folders`` keeps every path inside
the runs folder, ``jobs`` runs one simulation at a time in the background, ``views`` reads run
folders through the report's and compare's own code, ``app`` lays out the page and ``server``
serves it.
"""
