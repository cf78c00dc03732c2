"""The one publication channel: what leaves the installation, to whom, and how precisely.

Every way data is published (the web download, `flask export`, the OGC API) goes through here:

- tokens: partner institutions' API tokens, who may make and revoke them;
- receiver: who is asking (a logged-in user, a partner token, both or neither) and so whether
  protected sites are shown precisely;
- features: the one query that builds every published feature (`feature_query`);
- deliveries: the delivery log, written aside from the request's transaction;
- harvest: what incremental harvesters need besides `updated_since`, the deletions feed.
"""
