"""Tests that run the app as deployed: reverse proxy, replicas, several servers."""
