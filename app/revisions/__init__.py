"""Editing traces, their history (what changed, who, when, why) and reverting to a revision."""
