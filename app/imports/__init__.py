"""Importing known sites (GeoJSON or CSV) into a project: dry run first, then confirmation.

parse reads the file, candidates checks each feature, queries finds possible duplicates,
seal carries the checked candidates to the confirmation, operations stores them.
"""
