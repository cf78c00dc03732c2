"""Search on the map: traces by full text and trigrams, places from the gazetteer."""
