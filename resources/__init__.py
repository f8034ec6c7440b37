"""The player's bundled data: the demo clip and catalogue, trained weights with their model
cards, the real-footage labels and the interface's translations.

A package of data only (no code), so that a built wheel carries it (pyproject's
package-data) and installed code finds it where it was installed. Code reads it through
``engine.resources``, never by a path computed from its own file.
"""
