"""The bottom layer: what every other package may import and that imports nothing from the project.

Belongs here: the error hierarchy (``core.errors``), which every layer raises and every page
and command catches. Does not belong here: anything that reads data, knows London or draws;
a helper used by one layer stays in that layer.
"""
