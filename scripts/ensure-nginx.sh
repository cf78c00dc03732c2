#!/usr/bin/env bash
# Installs nginx for the reverse-proxy cache test (filled in by issue 8's deployment work).
exit 0
