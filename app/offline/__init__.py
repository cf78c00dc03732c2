"""Field use without a signal: the web app manifest, the service worker and the outbox."""
