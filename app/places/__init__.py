"""The gazetteer of place names: import from Kartverket's SSR extracts, search, nearest name."""
