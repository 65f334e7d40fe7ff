"""The scenario language: scenario files and their checks, the field reference, published figures.

Bottom layer: imports only ``panopticon.data`` (package data) and libraries.
"""
