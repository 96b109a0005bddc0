"""The feed past one box: a relay mirrors the bus into NATS JetStream, stateless edges serve the subscriber API.

- :mod:`dashboard.edge.relay` (``st-feed-relay``, operator box): signals and subscriber events out to JetStream,
  subscribers' callbacks back into ``logs/feed/callbacks.jsonl``.
- :mod:`dashboard.edge.main` (``tbot feed-edge``, any box): the subscriber feed, callbacks and public key, served
  from JetStream with the dashboard's own index, hub and cursors.
- :mod:`dashboard.edge.proxy`: a small round-robin TCP proxy for trying the layout on one machine.
"""
