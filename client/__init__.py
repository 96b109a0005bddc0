"""tbot-client: the open-source subscriber client."""
